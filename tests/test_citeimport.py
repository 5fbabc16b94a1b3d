"""`archiver import-citations`: every cited URL of a PDF, DOCX, HTML, Markdown or text report (and
of CSL-JSON, BibTeX and RIS files) with its note, access date, title, publisher and claim
sentence; preview, import, idempotence and the round trip through `archiver export`."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archiver.db import open_database
from archiver.models import Source
from evidence.citeimport import read_citations
from evidence.citetext import access_date, find_urls, title_and_publisher
from evidence.models import Citation, Claim
from tests.conftest import make_cli
from tests.reportmaker import cjk_truetype, endnotes, make_docx, make_html, make_pdf

REPO = Path(__file__).resolve().parent.parent
SEEDS = next((p for p in (REPO.parent / "shared" / "seeds", REPO.parent.parent / "shared" / "seeds") if p.is_dir()),
             REPO.parent / "shared" / "seeds")
NOTES = endnotes(60)
LINK_ONLY = (10, 20, 33, 45)  # notes whose PDF gives the URL only as a link annotation on "online"


@pytest.fixture(scope="session")
def cjk_font(tmp_path_factory):
    try:
        return cjk_truetype(tmp_path_factory.mktemp("font") / "noto-cjk-subset.ttf")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def pdf_report(cjk_font, tmp_path_factory):
    return make_pdf(tmp_path_factory.mktemp("pdf") / "Mapping surveillance giants.pdf", NOTES, cjk_font,
                    link_only=LINK_ONLY)


def by_number(extraction) -> dict[str, list]:
    found: dict[str, list] = {}
    for item in extraction.citations:
        found.setdefault(item.number, []).append(item)
    return found


def check_against_made(extraction, notes) -> None:
    """Every URL the test made is found, in order, and nothing else; each note's date, title,
    publisher and sentence are the ones the test wrote."""
    made = [url for note in notes for url in note.urls]
    assert [item.url for item in extraction.citations if item.number] == made
    found = by_number(extraction)
    for note in notes:
        items = found[str(note.number)]
        assert [i.url for i in items] == note.urls
        for item in items:
            assert item.accessed == note.accessed, note.number
            assert (item.title, item.publisher) == (note.title, note.publisher), note.number
            assert item.claim == note.sentence, note.number
            assert item.note.startswith(f"[{note.number}] ")
    counts = extraction.counts()
    assert counts["notes"] == len(notes) and counts["notes_without_url"] == 0
    assert counts["accessed_dates"] == sum(len(n.urls) for n in notes if n.accessed)


def test_pdf_with_60_endnotes_in_english_and_chinese(pdf_report):
    extraction = read_citations(pdf_report)
    assert extraction.kind == "pdf"
    printed = [u for n in NOTES for u in (n.urls[1:] if n.number in LINK_ONLY else n.urls)]
    wrapped = [u for u in printed if u not in pdf_report_text(pdf_report)]
    assert len(wrapped) >= 20, "the fixture must wrap many URLs across lines"
    check_against_made(extraction, NOTES)
    for number in LINK_ONLY:
        item = by_number(extraction)[str(number)][0]
        assert item.url == NOTES[number - 1].urls[0] and item.url not in item.note and "online" in item.note
    assert sum(1 for n in NOTES if n.chinese) >= 28
    # decimals, COVID-19 and US$1.9 in the text are not marks
    assert all("1.5 million" not in (item.claim or "") for item in extraction.citations)


def test_pdf_with_footnotes_at_the_foot_of_each_page(cjk_font, tmp_path):
    from tests.reportmaker import make_footnoted_pdf

    notes = endnotes(20, seed=11)
    path = make_footnoted_pdf(tmp_path / "paper.pdf", notes, cjk_font)
    extraction = read_citations(path)
    check_against_made(extraction, notes)
    assert not any(i.number is None for i in extraction.citations), "no note text is taken for the body"


def pdf_report_text(path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


@pytest.mark.parametrize("kind", ["footnote", "endnote"])
def test_docx_with_real_footnotes(tmp_path, kind):
    notes = endnotes(24, seed=3)
    path = make_docx(tmp_path / "report.docx", notes, kind)
    extraction = read_citations(path)
    assert extraction.kind == "docx"
    check_against_made(extraction, notes)
    assert any(n.link_only for n in notes), "some notes give their URL only as a hyperlink"
    for note in notes:
        if note.link_only:
            item = by_number(extraction)[str(note.number)][0]
            assert "online" in item.note and note.urls[0] not in item.note


def test_html_report_with_endnote_list(tmp_path):
    notes = endnotes(30, seed=5)
    inline = "https://www.mps.gov.cn/n2254098/n4904352/c6159226/content.html"
    path = make_html(tmp_path / "report.html", notes, inline_url=inline)
    extraction = read_citations(path)
    assert extraction.kind == "html"
    check_against_made(_only_notes(extraction), notes)
    inline_found = [i for i in extraction.citations if i.number is None]
    assert [i.url for i in inline_found] == [inline]
    assert inline_found[0].claim == "The ministry later published the contract list on its own website."
    assert not any("example.org" in i.url for i in extraction.citations), "navigation and footer links are not citations"


def _only_notes(extraction):
    from evidence.citeimport import Extraction

    return Extraction(extraction.file, extraction.kind, [i for i in extraction.citations if i.number],
                      extraction.notes, extraction.notes_without_url, extraction.marks)


MARKDOWN = """# Surveillance exports

Hikvision cameras watch the camps in Moyu.[^1] 海康威视在墨玉县承建了项目。[^2]
CloudWalk signed an agreement with Zimbabwe in 2018.[^3]

[^1]: IPVM, "Hikvision Xinjiang Moyu", 2018, <https://ipvm.com/reports/hik-xinjiang?code=a&b=(1)>, accessed 5 May 2019.
[^2]: 《墨玉县视频监控项目》，新疆日报，网址：https://www.xjdaily.com/新闻/2018/12345.html。访问日期：2019年3月12日。
[^3]: Techzim, ‘CloudWalk deal’, Techzim, 2018, www.techzim.co.zw/2018/04/cloudwalk-deal/.
"""

PLAIN = """Six companies on the Entity List now sell COVID-19 surveillance products.[1] An estimated 1.5 million
people are held.[2] Dahua markets thermal cameras.[3]

Notes
1. US Department of Commerce, "Addition of Certain Entities to the Entity List," Federal Register, October 9,
2019, https://www.federalregister.gov/documents/2019/10/09/2019-22210/addition-of-certain-entities-to-the-entity-
list (accessed 2 March 2020).
2. Adrian Zenz, ‘Thoroughly reforming them’, Central Asian Survey, <https://www.tandfonline.com/doi/full/
10.1080/02634937.2018.1507997>, viewed 3 May 2019.
3. Dahua, product page, https://us.dahuasecurity.com/?page_id=51720; retrieved March 5, 2020.
"""


def test_markdown_footnotes_and_url_shapes(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    extraction = read_citations(path)
    found = {i.number: i for i in extraction.citations}
    assert found["1"].url == "https://ipvm.com/reports/hik-xinjiang?code=a&b=(1)"
    assert found["1"].accessed == "2019-05-05"
    assert found["1"].claim == "Hikvision cameras watch the camps in Moyu."
    assert found["2"].url == "https://www.xjdaily.com/新闻/2018/12345.html"
    assert (found["2"].accessed, found["2"].title, found["2"].publisher) == ("2019-03-12", "墨玉县视频监控项目", "新疆日报")
    assert found["2"].claim == "海康威视在墨玉县承建了项目。" and found["2"].lang == "zh"
    assert found["3"].url == "http://www.techzim.co.zw/2018/04/cloudwalk-deal/"
    assert found["3"].claim == "CloudWalk signed an agreement with Zimbabwe in 2018."


def test_plain_text_notes_list_with_bracket_marks(tmp_path):
    path = tmp_path / "article.txt"
    path.write_text(PLAIN, encoding="utf-8")
    extraction = read_citations(path)
    found = {i.number: i for i in extraction.citations}
    assert set(found) == {"1", "2", "3"}
    assert found["3"].url == "https://us.dahuasecurity.com/?page_id=51720"
    assert found["3"].accessed == "2020-03-05"
    assert found["2"].claim == "An estimated 1.5 million people are held."
    assert found["1"].title == "Addition of Certain Entities to the Entity List"
    assert found["1"].publisher == "Federal Register"


@pytest.mark.parametrize("text, expected", [
    ("see https://example.com/a.html.", ["https://example.com/a.html"]),
    ("(https://en.wikipedia.org/wiki/Skynet_(program)).", ["https://en.wikipedia.org/wiki/Skynet_(program)"]),
    ("网址：https://www.gov.cn/a/b.htm，访问日期", ["https://www.gov.cn/a/b.htm"]),
    ("（https://www.gov.cn/a/b.htm）。", ["https://www.gov.cn/a/b.htm"]),
    ("“https://www.people.com.cn/x.html”", ["https://www.people.com.cn/x.html"]),
    ("<https://example.com/very/\n  long/path>", ["https://example.com/very/long/path"]),
    ("place?https://t.co/42BfE5YfIJ", ["https://t.co/42BfE5YfIJ"]),
    ("a, 'https://example.com/q?a=1&b=2', b", ["https://example.com/q?a=1&b=2"]),
    ("not a url: https:// nor www. nor example.com", []),
])
def test_find_urls_edges(text, expected):
    assert [f.url for f in find_urls(text)] == expected


@pytest.mark.parametrize("text, expected", [
    ("https://example.com/news/2019/\narticle-12.html, accessed 1 May 2019", ["https://example.com/news/2019/article-12.html"]),
    ("https://example.com/page\nAccessed 1 May 2019", ["https://example.com/page"]),
    ("https://example.com/page\nand so on", ["https://example.com/page"]),
    ("https://www.gov.cn/content_53\n73012.htm 访问", ["https://www.gov.cn/content_5373012.htm"]),
    ("https://example.com/a.htm\n2 Second note", ["https://example.com/a.htm"]),
    ("https://example.com/a.htm\n访问日期：2019年3月1日", ["https://example.com/a.htm"]),
])
def test_wrapped_urls(text, expected):
    assert [f.url for f in find_urls(text, wrapped=True)] == expected


@pytest.mark.parametrize("note, expected", [
    ("Reuters, 2019, https://x.com/a, accessed 12 March 2019.", "2019-03-12"),
    ("“T,” NYT, April 1, 2018, https://x.com/a (accessed April 14, 2019).", "2019-04-14"),
    ("Retrieved 5 Jan. 2020 from https://x.com/a", "2020-01-05"),
    ("viewed 2019-03-04", "2019-03-04"),
    ("新华网，2019年3月1日，https://x.cn/a，访问日期：2019年3月12日。", "2019-03-12"),
    ("访问时间：2020-1-5", "2020-01-05"),
    ("新华社. 标题[EB/OL]. (2019-03-01)[2019-04-02]. https://x.cn/a.", "2019-04-02"),
    ("Reuters, 12 March 2019, https://x.com/a.", None),
    ("accessed 31 February 2019", None),
])
def test_access_dates(note, expected):
    assert access_date(note) == expected


def test_title_and_publisher_styles():
    assert title_and_publisher("Danielle Cave, ‘Mapping China’s tech giants’, ASPI, Canberra, 18 April 2019, online.") \
        == ("Mapping China’s tech giants", "ASPI")
    assert title_and_publisher('Paul Mozur, "One Month, 500,000 Face Scans," New York Times, April 14, 2019.') \
        == ("One Month, 500,000 Face Scans", "New York Times")
    assert title_and_publisher("新华社：《习近平会见津巴布韦总统》，2018年4月3日。") == ("习近平会见津巴布韦总统", "新华社")
    assert title_and_publisher("Interview with a former employee, 2019.") == (None, None)


# --- the command -------------------------------------------------------------------------------


def counts(db_url) -> dict:
    with open_database(db_url)() as session:
        return {m.__name__: session.scalar(select(func.count()).select_from(m)) for m in (Source, Claim, Citation)}


def test_preview_then_import_is_idempotent_and_round_trips(pdf_report, tmp_path, monkeypatch):
    cli = make_cli(tmp_path, monkeypatch)
    preview = cli("import-citations", str(pdf_report))
    assert preview.exit_code == 0, preview.output
    assert "nothing imported yet" in preview.output and "62 URLs found" in preview.output
    assert counts(cli.db_url) == {"Source": 0, "Claim": 0, "Citation": 0}
    first = json.loads(cli("import-citations", str(pdf_report), "--yes", "--json").output)
    distinct = len({u for n in NOTES for u in n.urls})
    assert first["imported"]["new_sources"] == distinct
    assert first["imported"]["new_citations"] == 62 and first["imported"]["rejected"] == []
    assert first["imported"]["new_claims"] == 60
    before = counts(cli.db_url)
    assert before == {"Source": distinct, "Claim": 60, "Citation": 62}
    second = json.loads(cli("import-citations", str(pdf_report), "--yes", "--json").output)
    assert second["imported"]["new_citations"] == second["imported"]["updated_citations"] == 0
    assert second["imported"]["unchanged"] == 62
    assert counts(cli.db_url) == before
    with open_database(cli.db_url)() as session:
        claim = session.get(Claim, "mapping-surveillance-giants-n7")
        assert claim.text == NOTES[6].sentence
        citation = session.scalars(select(Citation).where(Citation.claim_id == claim.id)).first()
        assert citation.note.startswith("[7] ") and citation.accessed == NOTES[6].accessed

    exported = tmp_path / "export.csv"
    assert cli("export", str(exported)).exit_code == 0
    (tmp_path / "other").mkdir()
    other = make_cli(tmp_path / "other", monkeypatch)
    assert other("import", str(exported)).exit_code == 0
    again = tmp_path / "again.csv"
    assert other("export", str(again)).exit_code == 0
    assert exported.read_text(encoding="utf-8") == again.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(exported.read_text(encoding="utf-8"))))
    assert len(rows) == 62 and {r["note"] for r in rows} >= {f"[{n.number}] " + n.text for n in NOTES[:3]}
    # importing the export back into the first archive changes nothing either
    assert json.loads(cli("import", str(exported), "--json").output)["updated"] == 0
    assert counts(cli.db_url) == before


def test_edited_claim_text_survives_a_second_import(tmp_path, monkeypatch):
    cli = make_cli(tmp_path, monkeypatch)
    path = tmp_path / "notes.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    assert cli("import-citations", str(path), "--yes").exit_code == 0
    assert cli("claim", "edit", "notes-n1", "--text", "Hikvision cameras are in the Moyu camps.").exit_code == 0
    result = json.loads(cli("import-citations", str(path), "--yes", "--json").output)
    assert result["imported"]["new_claims"] == 0
    with open_database(cli.db_url)() as session:
        assert session.get(Claim, "notes-n1").text == "Hikvision cameras are in the Moyu camps."


def test_unreadable_reports_are_clear_errors(tmp_path, monkeypatch):
    cli = make_cli(tmp_path, monkeypatch)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    result = cli("import-citations", str(broken))
    assert result.exit_code == 2 and "broken.pdf" in result.output
    fake = tmp_path / "fake.docx"
    fake.write_text("plain text", encoding="utf-8")
    result = cli("import-citations", str(fake))
    assert result.exit_code == 2 and "not a DOCX file" in result.output
    assert cli("import-citations", str(tmp_path / "missing.pdf")).exit_code == 2


# --- reference managers ------------------------------------------------------------------------

CSL = [
    {"id": "mozur2019", "type": "article-newspaper", "title": "One Month, 500,000 Face Scans",
     "container-title": "The New York Times", "URL": "https://www.nytimes.com/2019/04/14/technology/china.html",
     "accessed": {"date-parts": [[2019, 4, 15]]}, "language": "en"},
    {"id": "xinhua", "title": "云从科技与津巴布韦签约", "publisher": "新华网", "URL": "http://www.xinhuanet.com/2018-04/12/c_1.htm",
     "accessed": {"raw": "2019-03-12"}},
    {"id": "book", "title": "A book without a URL"},
]
BIB = r"""
@online{cave2019,
  author = {Cave, Danielle},
  title = {Mapping {China}'s Tech Giants},
  organization = {ASPI},
  url = {https://www.aspi.org.au/report/mapping-chinas-tech-giants},
  urldate = {2019-05-03},
}
@misc{hrw,
  title = {China's Algorithms of Repression},
  howpublished = {\url{https://www.hrw.org/report/2019/05/01/chinas-algorithms-repression}},
  note = {Accessed: 2 June 2019},
  publisher = {Human Rights Watch},
}
@book{nourl, title = {Offline}}
"""
RIS = """TY  - ELEC
TI  - Hikvision wins Moyu contract
PB  - IPVM
UR  - https://ipvm.com/reports/hik-moyu
Y2  - 2019/05/06
LA  - English
ID  - ipvm1
ER  - 
TY  - NEWS
T1  - 海康威视中标墨玉项目
T2  - 新疆日报
UR  - http://www.xjdaily.com/a/1.html
N1  - 访问日期：2019年3月12日
ER  - 
"""


def test_reference_manager_files(tmp_path, monkeypatch):
    (tmp_path / "zotero.json").write_text(json.dumps(CSL, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "library.bib").write_text(BIB, encoding="utf-8")
    (tmp_path / "export.ris").write_text(RIS, encoding="utf-8")
    csl = read_citations(tmp_path / "zotero.json").citations
    assert [(c.url, c.title, c.publisher, c.accessed, c.lang) for c in csl] == [
        ("https://www.nytimes.com/2019/04/14/technology/china.html", "One Month, 500,000 Face Scans",
         "The New York Times", "2019-04-15", "en"),
        ("http://www.xinhuanet.com/2018-04/12/c_1.htm", "云从科技与津巴布韦签约", "新华网", "2019-03-12", "zh"),
    ]
    bib = read_citations(tmp_path / "library.bib").citations
    assert [(c.url, c.title, c.publisher, c.accessed) for c in bib] == [
        ("https://www.aspi.org.au/report/mapping-chinas-tech-giants", "Mapping China's Tech Giants", "ASPI", "2019-05-03"),
        ("https://www.hrw.org/report/2019/05/01/chinas-algorithms-repression", "China's Algorithms of Repression",
         "Human Rights Watch", "2019-06-02"),
    ]
    assert bib[0].note.startswith("[BibTeX cave2019]")
    ris = read_citations(tmp_path / "export.ris").citations
    assert [(c.url, c.title, c.publisher, c.accessed, c.lang) for c in ris] == [
        ("https://ipvm.com/reports/hik-moyu", "Hikvision wins Moyu contract", "IPVM", "2019-05-06", "en"),
        ("http://www.xjdaily.com/a/1.html", "海康威视中标墨玉项目", "新疆日报", "2019-03-12", "zh"),
    ]
    cli = make_cli(tmp_path, monkeypatch)
    for name in ("zotero.json", "library.bib", "export.ris"):
        result = json.loads(cli("import-citations", str(tmp_path / name), "--yes", "--json").output)
        assert result["imported"]["new_citations"] == 2, name
    with open_database(cli.db_url)() as session:
        assert session.get(Claim, "library").text == "Sources cited in library.bib"
        source = session.scalars(select(Source).where(Source.url == "https://ipvm.com/reports/hik-moyu")).one()
        assert (source.title, source.publisher, source.lang) == ("Hikvision wins Moyu contract", "IPVM", "en")


# --- the seeds ---------------------------------------------------------------------------------


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed reports are not beside the repository")
def test_seed_with_inline_links():
    (seed,) = SEEDS.glob("002_*.txt")
    extraction = read_citations(seed)
    assert [i.url for i in extraction.citations] == [
        "https://t.co/PoGSL2ydUb", "https://t.co/Y4GHvKK1MR", "https://t.co/tAFu1wsXwd",
        "https://t.co/w7ZpIGuEFP", "https://t.co/42BfE5YfIJ"]
    assert extraction.citations[-1].claim == "Why did VW build plant there in first place?"
    assert all(i.claim for i in extraction.citations)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed reports are not beside the repository")
def test_seeds_without_their_endnote_lists():
    """The ASPI report text (000) keeps its endnote marks (1 ... 140, superscripts flattened to
    digits) but not its notes; the 2020 article (001) keeps its [7] ... [60] marks. The marks
    are found; there are no URLs to invent."""
    (aspi,) = SEEDS.glob("000_*.txt")
    extraction = read_citations(aspi)
    assert extraction.citations == [] and extraction.notes == 0
    assert extraction.marks >= 130
    (article,) = SEEDS.glob("001_*.txt")
    extraction = read_citations(article)
    assert extraction.marks == len(set(re.findall(r"\[(\d+)\]", article.read_text(encoding="utf-8"))))


def test_html_notes_under_a_heading_without_links(tmp_path):
    """An HTML report whose marks are plain [n] text and whose notes are an <ol> under "注释"."""
    path = tmp_path / "zh.html"
    path.write_bytes("""<html><head><meta charset="gb2312"><title>报告</title></head><body>
<p>海康威视在墨玉县承建了监控项目。[1] 云从科技与津巴布韦签署了协议。[2]</p>
<h2>注释</h2><ol>
<li>《墨玉县视频监控项目中标公告》，中国政府采购网，<a href="http://www.ccgp.gov.cn/cggg/dfgg/zbgg/201803/t20180315_9654321.htm">网址</a>，访问日期：2019年3月12日。</li>
<li>新华网：《云从科技与津巴布韦签约》，http://www.xinhuanet.com/2018-04/12/c_1122671234.htm。</li>
</ol></body></html>""".encode("gb2312"))
    found = {i.number: i for i in read_citations(path).citations}
    assert found["1"].url == "http://www.ccgp.gov.cn/cggg/dfgg/zbgg/201803/t20180315_9654321.htm"
    assert (found["1"].accessed, found["1"].publisher) == ("2019-03-12", "中国政府采购网")
    assert found["1"].claim == "海康威视在墨玉县承建了监控项目。"
    assert found["2"].url == "http://www.xinhuanet.com/2018-04/12/c_1122671234.htm"
    assert (found["2"].title, found["2"].publisher) == ("云从科技与津巴布韦签约", "新华网")
    assert found["2"].claim == "云从科技与津巴布韦签署了协议。"


def test_html_saved_by_word_with_footnotes(tmp_path):
    """Word's "Save as web page": [n] marks linking to #_ftnN, notes in mso footnote divs with back-links."""
    path = tmp_path / "word.htm"
    path.write_text("""<html><body lang=EN-GB>
<div class=WordSection1>
<p class=MsoNormal>Meiya Pico trained police in thirty countries.<a style='mso-footnote-id:ftn1' href="#_ftn1"
name="_ftnref1" title=""><span class=MsoFootnoteReference>[1]</span></a> It also sold forensics kits to
Interpol.<a style='mso-footnote-id:ftn2' href="#_ftn2" name="_ftnref2" title=""><span
class=MsoFootnoteReference>[2]</span></a></p>
</div>
<div style='mso-element:footnote-list'><br clear=all><hr align=left size=1 width="33%">
<div style='mso-element:footnote' id=ftn1>
<p class=MsoFootnoteText><a style='mso-footnote-id:ftn1' href="#_ftnref1" name="_ftn1" title=""><span
class=MsoFootnoteReference>[1]</span></a> Meiya Pico, ‘Training programmes’, Meiya Pico, <a
href="http://www.meiyapico.com/news/2018/training.html">http://www.meiyapico.com/news/2018/training.html</a>, accessed 4 June 2019.</p>
</div>
<div style='mso-element:footnote' id=ftn2>
<p class=MsoFootnoteText><a style='mso-footnote-id:ftn2' href="#_ftnref2" name="_ftn2" title=""><span
class=MsoFootnoteReference>[2]</span></a> Interpol, ‘Digital forensics’, <a href="https://www.interpol.int/en/How-we-work/Innovation/Digital-forensics">online</a>.</p>
</div></div></body></html>""", encoding="utf-8")
    found = {i.number: i for i in read_citations(path).citations}
    assert set(found) == {"1", "2"}
    assert found["1"].url == "http://www.meiyapico.com/news/2018/training.html"
    assert (found["1"].accessed, found["1"].title, found["1"].publisher) == ("2019-06-04", "Training programmes", "Meiya Pico")
    assert found["1"].claim == "Meiya Pico trained police in thirty countries."
    assert found["2"].url == "https://www.interpol.int/en/How-we-work/Innovation/Digital-forensics"
    assert found["2"].claim == "It also sold forensics kits to Interpol."
    assert found["2"].note == "[2] Interpol, ‘Digital forensics’, online."
