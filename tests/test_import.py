"""`archiver import` and `archiver export`: idempotent import, rejected rows, encodings, lossless round trip."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archiver.db import open_database
from archiver.models import Source
from archiver.urls import normalise_url
from evidence.csvio import (
    COLUMNS,
    decode_csv_bytes,
    export_rows,
    import_rows,
    parse_csv,
    write_csv,
)
from evidence.models import Citation, Claim, DataPoint, QuoteCheck
from tests.conftest import make_cli

REPO = Path(__file__).resolve().parent.parent
HEADER = ",".join(COLUMNS)

GOOD = f"""{HEADER}
https://www.example.com/a,en,Page A,Example News,claim-a,"Claim A, with a comma",x;y,"He said ""yes"" twice",2019-05-02,fn 1,,,,,,,,,
https://www.example.com/b,zh,页面乙,示例日报,claim-a,"Claim A, with a comma",y;z,海康威视在新疆,2019-05,fn 2,dp-hik-xj,Hikvision,China,surveillance relationship,Urumqi,43.8256,87.6168,2017,"Camera contracts
across two lines"
https://www.example.com/c,en,Page C,,,,,,,,,,,,,,,,
"""


def totals(db_url) -> dict[str, int]:
    with open_database(db_url)() as session:
        return {model.__name__: session.scalar(select(func.count()).select_from(model))
                for model in (Source, Claim, DataPoint, Citation)}


def write(tmp_path, name: str, data: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return str(path)


def test_import_is_idempotent(cli, tmp_path):
    path = write(tmp_path, "bib.csv", GOOD)
    first = json.loads(cli("import", path, "--json").output)
    assert (first["added"], first["already_tracked"], first["rejected"]) == (3, 0, [])
    assert first["new"] == {"sources": 3, "claims": 1, "datapoints": 1, "citations": 2}
    before = totals(cli.db_url)
    second = json.loads(cli("import", path, "--json").output)
    assert (second["added"], second["updated"], second["already_tracked"]) == (0, 0, 3)
    assert totals(cli.db_url) == before == {"Source": 3, "Claim": 1, "DataPoint": 1, "Citation": 2}
    with open_database(cli.db_url)() as session:
        claim = session.get(Claim, "claim-a")
        assert claim.tags == ["x", "y", "z"]
        point = session.get(DataPoint, "dp-hik-xj")
        assert point.description == "Camera contracts\nacross two lines" and point.latitude == 43.8256
        quotes = set(session.scalars(select(Citation.quote)))
        assert quotes == {'He said "yes" twice', "海康威视在新疆"}


def test_rejected_rows_name_their_line_and_reason_and_good_rows_land(cli, tmp_path):
    text = f"""{HEADER}
https://ok.example/1,en,One,,c1,Claim one,,,,,,,,,,,,,
,en,No URL,,,,,,,,,,,,,,,,
ftp://bad.example/x,en,,,,,,,,,,,,,,,,,
https://ok.example/2,en,,,c1,,,"a quote
on two lines",2019-02-30,,,,,,,,,,
https://ok.example/3,en,,,c2,,,,,,,,,,,,,,
https://ok.example/4,en,,,,,,orphan quote,,,,,,,,,,,
https://ok.example/5,en,,,c1,,,,,,dp-x,Huawei,Kenya,,Nairobi,95,36.8,,
https://ok.example/6,en,,,c1,,,,,,,,,,,,,,,,,,,extra
https://ok.example/7,en,,,c1,,,second quote,2019-02-28,,,,,,,,,,
"""
    path = write(tmp_path, "bib.csv", text)
    result = cli("import", path)
    assert result.exit_code == 0, result.output
    assert "9 rows: 2 added, 0 updated, 0 with nothing new, 7 rejected; sources: 2 new, 0 already tracked" in result.output
    summary = json.loads(cli("import", path, "--json").output)
    assert [(r["line"], r["reason"].split(":")[0]) for r in summary["rejected"]] == [
        (3, "no url"),
        (4, "bad URL"),
        (5, "bad accessed date '2019-02-30'"),
        (7, "unknown claim id 'c2'"),
        (8, "quote, accessed or note given without a claim or data point to cite it for"),
        (9, "latitude 95 is out of range (-90 to 90)"),
        (10, "1 more cells than the header has columns"),
    ]
    assert "only http and https" in summary["rejected"][1]["reason"]
    assert totals(cli.db_url) == {"Source": 2, "Claim": 1, "DataPoint": 0, "Citation": 2}


def test_excel_utf8_with_bom_gbk_big5_and_semicolons(cli, tmp_path):
    row = "https://www.gov.cn/xinwen/1.htm,zh,国务院公告,中国政府网,gov-1,政府发布公告，涉及“智慧城市”建设,智慧城市,推进“智慧城市”建设,2020-01-01,第12条注释,,,,,,,,,"
    files = {
        "bom.csv": ("\ufeff" + HEADER + "\r\n" + row + "\r\n").encode("utf-8"),
        "gbk.csv": (HEADER + "\r\n" + row + "\r\n").encode("gbk"),
        "gb18030.csv": (HEADER + "\n" + row.replace("gov-1", "gov-2").replace("1.htm", "2.htm") + "\n").encode("gb18030"),
        "semicolon.csv": (HEADER.replace(",", ";") + "\n" + row.replace("gov-1", "gov-3").replace("1.htm", "3.htm")
                          .replace(",", ";") + "\n").encode("utf-8-sig"),
    }
    for name, data in files.items():
        result = json.loads(cli("import", write(tmp_path, name, data), "--json").output)
        assert result["rejected"] == [], (name, result)
    with open_database(cli.db_url)() as session:
        claims = {c.id: c for c in session.scalars(select(Claim))}
        assert set(claims) == {"gov-1", "gov-2", "gov-3"}
        for claim in claims.values():
            assert claim.text == "政府发布公告，涉及“智慧城市”建设" and claim.tags == ["智慧城市"]
        assert set(session.scalars(select(Citation.note))) == {"第12条注释"}
        assert session.scalars(select(Source.title)).first() == "国务院公告"
    big5 = "url,lang,title\nhttps://www.example.tw/a,zh,臺灣新聞報導：雲從科技與辛巴威政府簽署合作協議，建立國家人臉資料庫\n".encode("big5")
    text, encoding = decode_csv_bytes(big5)
    assert encoding == "big5" and "雲從科技" in text


def test_unreadable_files_fail_with_exit_2(cli, tmp_path):
    no_url = cli("import", write(tmp_path, "x.csv", "link,title\nhttp://a.example/,A\n"))
    assert no_url.exit_code == 2 and "no `url` column" in no_url.output
    missing = cli("import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2 and "no such file" in missing.output
    assert totals(cli.db_url)["Source"] == 0


def test_reimport_updates_edited_claim_text_and_citation_notes(cli, tmp_path):
    path = write(tmp_path, "bib.csv", GOOD)
    cli("import", path)
    edited = GOOD.replace('"Claim A, with a comma"', '"Claim A, reworded"').replace("fn 1", "fn 1a")
    result = json.loads(cli("import", write(tmp_path, "bib2.csv", edited), "--json").output)
    assert (result["added"], result["updated"], result["already_tracked"]) == (0, 1, 2)
    with open_database(cli.db_url)() as session:
        assert session.get(Claim, "claim-a").text == "Claim A, reworded"
        assert "fn 1a" in set(session.scalars(select(Citation.note)))


def test_export_writes_every_citation_and_uncited_sources(cli, tmp_path):
    cli("import", write(tmp_path, "bib.csv", GOOD))
    cli("add", "https://lonely.example/page", "--title", "Lonely")
    out = tmp_path / "out.csv"
    assert cli("export", str(out)).exit_code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert list(rows[0]) == list(COLUMNS)
    assert [r["url"] for r in rows] == ["https://www.example.com/a", "https://www.example.com/b",
                                        "https://www.example.com/c", "https://lonely.example/page"]
    assert rows[1]["description"] == "Camera contracts\nacross two lines" and rows[1]["latitude"] == "43.8256"
    assert out.read_bytes().count(b"\r\n") == 5 and b"contracts\nacross" in out.read_bytes()
    stdout = cli("export", "-")
    assert stdout.output.splitlines()[0] == HEADER


def _row_set(rows) -> set[tuple]:
    return {tuple((r.get(c) or "").strip() for c in COLUMNS) for r in rows}


def test_sources_csv_round_trip_is_lossless(tmp_path, monkeypatch):
    """import -> export -> import (fresh database) -> export gives the same rows, and the first
    export says what the file says: URLs in normal form, a claim's tags merged over its rows, and
    where the file gives one claim id two texts (the import warns), the first text."""
    path = REPO / "sources.csv"
    if not path.exists():
        pytest.skip("sources.csv not present")
    original = list(csv.DictReader(path.open(encoding="utf-8-sig", newline="")))
    (tmp_path / "one").mkdir()
    first = make_cli(tmp_path / "one", monkeypatch)
    imported = json.loads(first("import", str(path), "--json").output)
    assert imported["rejected"] == [] and imported["added"] == len(original)
    export1 = tmp_path / "export1.csv"
    first("export", str(export1))
    (tmp_path / "two").mkdir()
    second = make_cli(tmp_path / "two", monkeypatch)
    again = json.loads(second("import", str(export1), "--json").output)
    assert again["rejected"] == [] and again["warnings"] == []
    export2 = tmp_path / "export2.csv"
    second("export", str(export2))
    rows1 = list(csv.DictReader(export1.open(encoding="utf-8", newline="")))
    rows2 = list(csv.DictReader(export2.open(encoding="utf-8", newline="")))
    assert rows1 == rows2
    assert totals(first.db_url) == totals(second.db_url)

    assert imported["warnings"] == [], "sources.csv gives every claim one text"

    def comparable(row: dict) -> tuple:
        values = {c: (row.get(c) or "").strip() for c in COLUMNS}
        values["url"] = normalise_url(values["url"])
        for c in ("latitude", "longitude"):
            values[c] = repr(float(values[c])) if values[c] else ""
        values.pop("tags")
        return tuple(values.values())

    assert sorted(map(comparable, original)) == sorted(map(comparable, rows1))
    exported_tags = {r["claim_id"]: set(r["tags"].split(";")) for r in rows1}
    for row in original:
        assert set(filter(None, row["tags"].split(";"))) <= exported_tags[row["claim_id"]]
    assert len(rows1) == len(original)


def test_round_trip_of_a_file_with_chinese_and_awkward_cells(tmp_path, db_url):
    sessions = open_database(db_url)
    with sessions.begin() as session:
        import_rows(session, parse_csv(GOOD).rows)
        exported = export_rows(session)
    buffer = io.StringIO()
    write_csv(exported, buffer)
    with open_database(f"sqlite:///{tmp_path / 'second.db'}").begin() as session:
        summary = import_rows(session, parse_csv(buffer.getvalue()).rows)
        assert summary.rejected == [] and summary.added == 3
        assert _row_set(export_rows(session)) == _row_set(exported)


def test_import_checks_quotes_of_sources_already_captured(cli, tmp_path, site):
    url = site.set("/p.html", "<html><head><title>P</title></head><body><article><p>The ministry confirmed that "
                              "the data centre in Nairobi opened in March 2019 with Chinese financing and equipment.</p>"
                              "<p>Officials said more sites would follow in Mombasa and Kisumu next year.</p>"
                              "</article></body></html>")
    cli("add", url)
    cli("run", "--all")
    text = f"{HEADER}\n{url},en,,,dc,Data centre opened,,the data centre in Nairobi opened in March 2019,,,,,,,,,,,\n"
    summary = json.loads(cli("import", write(tmp_path, "b.csv", text), "--json").output)
    assert summary["quote_checks"] == 1
    with open_database(cli.db_url)() as session:
        assert session.scalars(select(QuoteCheck.status)).all() == ["present"]


def test_export_neutralises_formulas_and_import_reads_them_back(tmp_path, monkeypatch):
    """Cells starting like a spreadsheet formula are written with a leading ', plain numbers are
    not, and importing the export into a fresh archive gives back every text exactly."""
    texts = {"title": "=HYPERLINK(\"http://evil.example\",\"click\")", "publisher": "@SUM(1+1)",
             "claim": "+86 10 1234 5678 is the bureau's number", "quote": "-5% growth in 2019",
             "note": "\t=cmd|' /C calc'!A0", "tags": "'=already quoted;plain"}
    (tmp_path / "one").mkdir()
    first = make_cli(tmp_path / "one", monkeypatch)
    row = {"url": "https://example.org/a", "lang": "en", "claim_id": "c1", "latitude": "-17.8292",
           "longitude": "31.0522", "entity": "CloudWalk", **texts}
    source = tmp_path / "in.csv"
    with open(source, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        writer.writeheader()
        writer.writerow({k: v.replace("'=already", "''=already") if k == "tags" else v for k, v in row.items()})
    assert first("import", str(source)).exit_code == 0
    exported = first("export", "-").output
    cells = next(csv.DictReader(io.StringIO(exported)))
    for name in ("title", "publisher", "claim", "quote", "note"):
        assert cells[name] == "'" + texts[name].strip(), name  # import trims the spaces and tabs around a cell
    assert cells["tags"] == "''=already quoted;plain"
    assert cells["latitude"] == "-17.8292" and cells["url"] == "https://example.org/a"
    (tmp_path / "two").mkdir()
    second = make_cli(tmp_path / "two", monkeypatch)
    out = tmp_path / "out.csv"
    out.write_text(exported, encoding="utf-8")
    assert second("import", str(out)).exit_code == 0
    assert second("export", "-").output == exported
    with open_database(second.db_url)() as session:
        source_row = session.scalars(select(Source)).one()
        assert source_row.title == texts["title"] and source_row.publisher == texts["publisher"]
        claim = session.get(Claim, "c1")
        assert claim.text == texts["claim"] and claim.tags == ["'=already quoted", "plain"]
        citation = session.scalars(select(Citation)).one()
        assert citation.quote == texts["quote"] and citation.note == texts["note"].strip()
