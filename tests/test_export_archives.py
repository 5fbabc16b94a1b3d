"""`archiver export --warc/--wacz`: a claim's evidence, or a selection of captures, as standard web archives."""

from __future__ import annotations

import json

import pytest
from warcio.archiveiterator import ArchiveIterator

PAGE = "<html><head><title>{t}</title></head><body><article><p>{t}: " + "Cameras were installed in the county. " * 8 + "</p></article></body></html>"


def responses(path) -> list[str]:
    with open(path, "rb") as handle:
        return sorted(r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(handle) if r.rec_type == "response")


def test_claim_evidence_as_warc_and_wacz(cli, site, tmp_path):
    cited = site.set("/cited.html", PAGE.format(t="Cited"))
    other = site.set("/other.html", PAGE.format(t="Other"))
    assert cli("claim", "add", "Cameras were installed", "--id", "cams").exit_code == 0
    assert cli("cite", "cams", cited, "--quote", "Cameras were installed in the county").exit_code == 0
    assert cli("add", other).exit_code == 0
    assert cli("run", "--no-progress").exit_code == 0

    everything = tmp_path / "all.warc.gz"
    result = cli("export", "--warc", str(everything), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["warc"]["captures"] == 2
    assert responses(everything) == sorted([cited, other])

    claim_warc = tmp_path / "cams.warc.gz"
    claim_wacz = tmp_path / "cams.wacz"
    result = cli("export", "--warc", str(claim_warc), "--wacz", str(claim_wacz), "--claim", "cams")
    assert result.exit_code == 0, result.output
    assert responses(claim_warc) == [cited]
    validate = pytest.importorskip("wacz.validate")
    checks = validate.Validation(str(claim_wacz))
    assert checks.check_file_hashes() and checks.check_file_paths()

    by_source = tmp_path / "other.warc.gz"
    assert cli("export", "--warc", str(by_source), "--source", other).exit_code == 0
    assert responses(by_source) == [other]

    later = tmp_path / "later.warc.gz"
    assert cli("export", "--warc", str(later), "--since", "2999-01-01", "--json").exit_code == 0
    assert responses(later) == []


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "give a CSV FILE"),
        (("out.csv", "--claim", "x"), "select captures for --warc or --wacz"),
        (("--warc", "x.warc.gz", "--claim", "nope"), "unknown claim id"),
        (("--warc", "x.warc.gz", "--since", "yesterday"), "--since must be a date"),
    ],
)
def test_bad_export_requests(cli, args, message):
    result = cli("export", *args)
    assert result.exit_code == 2
    assert message in result.output


def test_report_names_the_wacz_that_backs_the_claim(cli, site, tmp_path):
    import hashlib

    url = site.set("/cited.html", PAGE.format(t="Cited"))
    cli("claim", "add", "Cameras were installed", "--id", "cams")
    cli("cite", "cams", url, "--quote", "Cameras were installed in the county")
    cli("run", "--no-progress")
    wacz = tmp_path / "cams.wacz"
    result = cli("report", "cams", "--format", "json", "--wacz", str(wacz))
    assert result.exit_code == 0, result.output
    package = json.loads(result.output)["evidence_package"]
    assert package["sha256"] == hashlib.sha256(wacz.read_bytes()).hexdigest()
    assert package["captures"] == 1
    md = cli("report", "cams", "--wacz", str(tmp_path / "again.wacz")).output
    assert "Evidence package (WACZ)" in md
    assert cli("report", "--all", "--wacz", str(wacz)).exit_code == 2
