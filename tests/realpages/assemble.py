"""Rebuild the real-page corpus (tests/realpages/) from the source distributions it was taken from.

    python tests/realpages/assemble.py TRAFILATURA_SDIST_DIR NEWSPAPER4K_SDIST_DIR

Both arguments are unpacked source distributions from PyPI:
- trafilatura 1.0.0 (`pip download --no-deps --no-binary :all: trafilatura==1.0.0`): its saved
  pages in tests/cache/ and, as labels, the strings its tests/realworld_tests.py asserts to be in
  the extracted main text (positive) or not in it (negative, page furniture);
- newspaper4k 0.9.6 (same command): its saved pages in tests/data/html/ and, as labels, the
  article texts in tests/data/txt/.

Writes pages/<id>.html.zst (the bytes as saved, zstd-compressed), gold/<id>.txt.zst (the labelled
article text, where the dataset has one) and manifest.json (for each page: where it came from,
its licence, its language and its labels). Pages larger than MAX_BYTES are left out, to keep the
corpus small. Nothing of either package's code is copied: only saved pages and labels (data).
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import zstandard

HERE = Path(__file__).resolve().parent
MAX_BYTES = 1_000_000
TRAFILATURA = {"package": "trafilatura", "version": "1.0.0", "licence": "GPL-3.0-or-later (the package); "
               "the saved pages belong to their publishers and are kept as test data"}
NEWSPAPER = {"package": "newspaper4k", "version": "0.9.6", "licence": "MIT (the package); the saved pages "
             "belong to their publishers and are kept as test data"}
# Languages of the newspaper4k pages, from their names and contents.
NEWSPAPER_LANG = {"chinese_article": "zh", "chinese_article_001": "zh", "chinese_article_002": "zh",
                  "japanese_article": "ja", "japanese_article2": "ja", "yna_co_kr": "ko", "arabic_article": "ar",
                  "burmese_article": "my", "thai_article": "th", "spanish_article": "es", "latvian_article": "lv"}
# Skipped: pages that are no articles (home pages, an RSS sample, a bare redirect) or test
# fixtures built by hand.
NEWSPAPER_SKIP = {"cnn_main_site", "wired_main_site", "yahoo_main_site", "sample_rss", "google_meta_refresh",
                  "ap_meta_refresh"}
TRAFILATURA_SKIP = {"exotic_tags.html", "exotic_tags_tei.html"}


def _strings(node: ast.AST) -> list[tuple[str, bool]]:
    """(string, positive) for every `'...' in result` / `'...' not in result` under node."""
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Compare) and len(sub.ops) == 1 and isinstance(sub.left, ast.Constant) \
                and isinstance(sub.left.value, str) and isinstance(sub.comparators[0], ast.Name) \
                and sub.comparators[0].id == "result":
            if isinstance(sub.ops[0], ast.In):
                found.append((sub.left.value, True))
            elif isinstance(sub.ops[0], ast.NotIn):
                found.append((sub.left.value, False))
    return found


def trafilatura_labels(tests: Path) -> dict[str, dict]:
    """Labels by page file name, read from realworld_tests.py: for each `result = load_mock_page(URL)`,
    the strings the asserts that follow it (up to the next load) require in or out of the result."""
    module = ast.parse(tests.read_text(encoding="utf-8"))
    pages: dict[str, str] = {}
    for node in module.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "MOCK_PAGES":
            pages = ast.literal_eval(node.value)
    labels: dict[str, dict] = {}
    for function in (n for n in module.body if isinstance(n, ast.FunctionDef)):
        url = None
        for statement in ast.walk(function):
            if not isinstance(statement, ast.stmt):
                continue
            if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call) \
                    and getattr(statement.value.func, "id", "") == "load_mock_page" and statement.value.args \
                    and isinstance(statement.value.args[0], ast.Constant):
                url = statement.value.args[0].value
                continue
            if isinstance(statement, ast.Assert) and url in pages:
                entry = labels.setdefault(pages[url], {"url": url, "positive": [], "negative": []})
                for text, positive in _strings(statement):
                    bucket = entry["positive" if positive else "negative"]
                    if text not in bucket:
                        bucket.append(text)
    return labels


def _lang_of(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    match = re.search(r"<html[^>]*\blang=[\"']?([a-zA-Z]{2})", text, re.I)
    if match:
        return match.group(1).lower()
    han = len(re.findall(r"[\u4e00-\u9fff]", text))
    return "zh" if han > 500 else "unknown"


def assemble(trafilatura_dir: Path, newspaper_dir: Path) -> list[dict]:
    out_pages, out_gold = HERE / "pages", HERE / "gold"
    out_pages.mkdir(exist_ok=True)
    out_gold.mkdir(exist_ok=True)
    packer = zstandard.ZstdCompressor(level=19)
    manifest = []
    labels = trafilatura_labels(trafilatura_dir / "tests" / "realworld_tests.py")
    for name, label in sorted(labels.items()):
        path = trafilatura_dir / "tests" / "cache" / name
        if name in TRAFILATURA_SKIP or not path.exists() or not label["positive"]:
            continue
        raw = path.read_bytes()
        if len(raw) > MAX_BYTES:
            continue
        page_id = "traf-" + re.sub(r"[^a-z0-9]+", "-", name.removesuffix(".html").lower()).strip("-")
        (out_pages / f"{page_id}.html.zst").write_bytes(packer.compress(raw))
        manifest.append({
            "id": page_id, "lang": _lang_of(raw), "url": label["url"],
            "source": dict(TRAFILATURA, path=f"tests/cache/{name}"),
            "labels": {"from": "tests/realworld_tests.py", "positive": label["positive"],
                       "negative": label["negative"]},
        })
    for path in sorted((newspaper_dir / "tests" / "data" / "html").glob("*.html")):
        stem = path.stem
        gold = newspaper_dir / "tests" / "data" / "txt" / f"{stem}.txt"
        if stem in NEWSPAPER_SKIP or not gold.exists():
            continue
        raw = path.read_bytes()
        if len(raw) > MAX_BYTES:
            continue
        page_id = "np4k-" + stem.replace("_", "-")
        (out_pages / f"{page_id}.html.zst").write_bytes(packer.compress(raw))
        (out_gold / f"{page_id}.txt.zst").write_bytes(packer.compress(gold.read_bytes()))
        manifest.append({
            "id": page_id, "lang": NEWSPAPER_LANG.get(stem, "en"), "url": None,
            "source": dict(NEWSPAPER, path=f"tests/data/html/{path.name}"),
            "labels": {"from": f"tests/data/txt/{gold.name}", "gold": f"gold/{page_id}.txt.zst"},
        })
    (HERE / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return manifest


if __name__ == "__main__":
    pages = assemble(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{len(pages)} pages")
