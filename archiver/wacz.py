"""WACZ packaging (Web Archive Collection Zipped, version 1.1.1): one file that replays in
ReplayWeb.page and pywb, and that a claim's evidence can be handed over in.

Layout, as the WACZ specification and the `wacz` package lay it out:
    archive/data.warc.gz       the captures as WARC 1.1 (see archiver.warc), stored uncompressed in the zip
    indexes/index.cdx.gz       CDXJ index in gzip blocks (made by cdxj-indexer, the index pywb reads)
    indexes/index.idx          the block index that lets a replayer fetch only what it needs
    pages/pages.jsonl          one entry per captured page: URL, capture time, title
    provenance/provenance.jsonl  how each capture was collected (archiver.provenance): each request's
                               IP address, headers, TLS and certificate chain in PEM, user agent, software
    datapackage.json           every file above with its SHA-256 and size, and `chain_head`: the
                               store's hash-chain head at export time (capture id, event id, record
                               hash), which `archiver verify --anchor FILE.wacz` checks the store against
    datapackage-digest.json    the SHA-256 of datapackage.json
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from cdxj_indexer.main import CDXJIndexer
from sqlalchemy.orm import Session

from archiver import TOOL_NAME, __version__
from archiver.models import Capture
from archiver.provenance import with_pems
from archiver.warc import chain_head, warc_date, write_warc

WACZ_VERSION = "1.1.1"
PAGE_TYPES = ("text/html", "application/xhtml+xml", "application/pdf", "text/plain")
INDEX_LINES = 1024


def _file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return "sha256:" + digest.hexdigest(), size


def _is_page(capture: Capture) -> bool:
    media = (capture.content_type or "").split(";")[0].strip().lower()
    return (capture.status_code is not None and 200 <= capture.status_code < 300 and not capture.not_modified
            and media in PAGE_TYPES)


def _noting_pages(captures: Iterable[Capture], pages, provenance=None, session: Session | None = None) -> Iterator[Capture]:
    """Pass captures through to the WARC writer, writing a pages.jsonl line for each page among
    them, and a provenance.jsonl line (archiver.provenance, certificates in PEM) for each capture."""
    for capture in captures:
        if provenance is not None and getattr(capture, "provenance", None):
            line = {"capture_id": capture.id, "url": capture.requested_url, "record_hash": capture.record_hash,
                    "provenance": with_pems(session, capture.provenance)}
            provenance.write(json.dumps(line, ensure_ascii=False) + "\n")
        if _is_page(capture):
            url = capture.final_url or capture.requested_url
            entry = {"id": f"capture-{capture.id}", "url": url, "ts": warc_date(capture.started_at),
                     "title": capture.page_title or url}
            pages.write(json.dumps(entry, ensure_ascii=False) + "\n")
        yield capture


def _index(warc: Path, cdx_gz: Path, idx: Path) -> None:
    with open(cdx_gz, "wb") as blocks:
        CDXJIndexer(
            str(idx), [str(warc)], sort=True, post_append=True, compress=blocks, data_out_name=cdx_gz.name,
            lines=INDEX_LINES, digest_records=True, fields="referrer,req.http:cookie",
            records="response,revisit,resource",
        ).process_all()


def write_wacz(session: Session, captures: Iterable[Capture], path: str | os.PathLike, *,
               title: str | None = None, description: str | None = None) -> Path:
    """Package `captures` (e.g. from archiver.warc.select_captures) as a WACZ file at `path`.

    Streams: the WARC and the index are built in a temporary folder, then zipped.
    Returns the path written.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="archiver-wacz-") as tmp:
        folder = Path(tmp)
        warc, cdx_gz, idx, pages = (folder / "data.warc.gz", folder / "index.cdx.gz", folder / "index.idx",
                                    folder / "pages.jsonl")
        provenance = folder / "provenance.jsonl"
        with open(pages, "w", encoding="utf-8") as page_list, open(provenance, "w", encoding="utf-8") as records:
            header = {"format": "json-pages-1.0", "id": "pages", "title": title or "Pages"}
            page_list.write(json.dumps(header, ensure_ascii=False) + "\n")
            write_warc(session, _noting_pages(captures, page_list, records, session), warc, description=description)
        _index(warc, cdx_gz, idx)
        members = [
            ("archive/data.warc.gz", warc, zipfile.ZIP_STORED),
            ("indexes/index.cdx.gz", cdx_gz, zipfile.ZIP_STORED),
            ("indexes/index.idx", idx, zipfile.ZIP_DEFLATED),
            ("pages/pages.jsonl", pages, zipfile.ZIP_DEFLATED),
        ]
        if provenance.stat().st_size:  # captures made before provenance was recorded have none
            members.append(("provenance/provenance.jsonl", provenance, zipfile.ZIP_DEFLATED))
        resources = []
        for name, file, _ in members:
            digest, size = _file_digest(file)
            resources.append({"name": Path(name).name, "path": name, "hash": digest, "bytes": size})
        package: dict[str, object] = {
            "profile": "data-package",
            "resources": resources,
            "wacz_version": WACZ_VERSION,
            "software": f"{TOOL_NAME} {__version__}",
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if title:
            package["title"] = title
        if description:
            package["description"] = description
        head = chain_head(session)
        package["chain_head"] = head.as_json() if head is not None else None
        package_bytes = json.dumps(package, ensure_ascii=False, indent=2).encode("utf-8")
        package_digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest()}
        partial = path.with_name(path.name + ".part")
        with zipfile.ZipFile(partial, "w", allowZip64=True) as archive:
            for name, file, compression in members:
                archive.write(file, name, compress_type=compression)
            archive.writestr("datapackage.json", package_bytes, compress_type=zipfile.ZIP_DEFLATED)
            archive.writestr("datapackage-digest.json", json.dumps(package_digest, indent=2),
                             compress_type=zipfile.ZIP_DEFLATED)
        os.replace(partial, path)
    return path
