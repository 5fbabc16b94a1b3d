"""Real-looking report files for the import-citations tests, with the list of what they cite.

`endnotes(60)` makes the notes of a report on Chinese surveillance companies in the styles real
reports use (ASPI, Chicago, Harvard, angle brackets, Chinese 《》 notes with 访问日期, GB/T 7714),
in English and Chinese, each with the URL(s), access date, title and publisher it holds and the
sentence that carries its mark. `make_pdf` lays them out with fpdf2 and a CJK font from
fonts-noto-cjk (converted to TrueType outlines, which PDF text extractors read back), wrapping
long URLs across lines the way layout programs do: after a '/', '-', '.', '?', '&' or '=' that
fits, else at any character. `make_docx` writes a Word file with real footnotes
(word/footnotes.xml, hyperlinks as relationships), `make_html` an article with an endnote list.
"""

from __future__ import annotations

import glob
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

CJK_FONT_GLOB = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

EN_SUBJECTS = [
    ("Hikvision", "supplied cameras to re-education camps in Moyu county"),
    ("Dahua", "won a contract worth US$1.9 million for a Yarkant surveillance system"),
    ("SenseTime", "sold its stake in a joint venture with a Xinjiang police contractor"),
    ("Megvii", "tested ethnic-minority recognition software with Huawei"),
    ("CloudWalk", "signed a mass facial-recognition agreement with Zimbabwe"),
    ("iFlytek", "built a voice-pattern database for the Kashgar police"),
    ("Huawei", "opened a cloud computing centre with the Xinjiang public security bureau"),
    ("Meiya Pico", "trained police forces in 30 countries under the Belt and Road"),
    ("Uniview", "sold 5G-connected cameras for a Urumqi smart-city project"),
    ("YITU", "marketed a COVID-19 screening system built on its surveillance platform"),
]
ZH_SUBJECTS = [
    ("海康威视", "承建了墨玉县的视频监控项目"),
    ("大华股份", "中标了莎车县雪亮工程二期"),
    ("商汤科技", "出售了与新疆警方合资公司的股份"),
    ("旷视科技", "与华为测试了少数民族识别功能"),
    ("云从科技", "与津巴布韦政府签署了人脸识别合作协议"),
    ("科大讯飞", "为喀什警方建设了声纹数据库"),
    ("华为", "与新疆公安厅共建云计算中心"),
    ("美亚柏科", "为三十个国家的警察提供培训"),
    ("宇视科技", "为乌鲁木齐智慧城市项目提供摄像机"),
    ("依图科技", "推出了基于监控平台的体温筛查系统"),
]
EN_PUBLISHERS = ["Reuters", "The New York Times", "Human Rights Watch", "ASPI", "Foreign Policy", "IPVM",
                 "South China Morning Post", "Financial Times", "The Globe and Mail", "Biometric Update"]
ZH_PUBLISHERS = ["新华网", "人民网", "新疆日报", "中国政府采购网", "澎湃新闻", "环球时报", "央视网", "光明网",
                 "科技日报", "财新网"]
EN_DATES = [("12 March 2019", "2019-03-12"), ("3 May 2019", "2019-05-03"), ("21 October 2019", "2019-10-21"),
            ("5 January 2020", "2020-01-05"), ("30 June 2018", "2018-06-30")]
US_DATES = [("March 14, 2019", "2019-03-14"), ("April 2, 2020", "2020-04-02"), ("November 9, 2018", "2018-11-09")]
ZH_DATES = [("2019年3月12日", "2019-03-12"), ("2020年1月5日", "2020-01-05"), ("2018年11月9日", "2018-11-09"),
            ("2019年10月21日", "2019-10-21")]


def _urls(rng: random.Random, index: int, chinese: bool) -> str:
    """A realistic URL, long enough that many wrap across lines."""
    n = 5000000 + index * 7919
    if chinese:
        choices = [
            f"http://www.xinjiang.gov.cn/xinjiang/c112459/2019{index % 12 + 1:02d}/content_{n}.shtml",
            f"http://www.ccgp.gov.cn/cggg/dfgg/zbgg/2018{index % 9 + 1:02d}/t2018{index % 9 + 1:02d}15_{n}.htm",
            f"https://www.thepaper.cn/newsDetail_forward_{n}?from=timeline&isappinstalled=0",
            f"http://paper.people.com.cn/rmrb/html/2019-03/1{index % 9}/nw.D110000renmrb_20190312_{index}-04.htm",
            f"https://www.gov.cn/zhengce/2019-{index % 12 + 1:02d}/1{index % 9}/content_{n}.htm",
            f"http://www.xinhuanet.com/politics/2019-{index % 12 + 1:02d}/2{index % 9}/c_{n}.htm",
            f"https://search.ccgp.gov.cn/bxsearch?searchtype=1&page_index=1&kw=%E8%A7%86%E9%A2%91%E7%9B%91%E6%8E%A7&start_time=2018%3A01%3A01&id={n}",
        ]
    else:
        choices = [
            f"https://www.reuters.com/article/us-china-xinjiang-surveillance-{index}/chinese-firms-cash-in-on-xinjiang-idUSKCN1S{n}",
            f"https://www.nytimes.com/2019/04/14/technology/china-surveillance-artificial-intelligence-racial-profiling-{index}.html",
            f"https://www.hrw.org/report/2019/05/01/chinas-algorithms-repression/reverse-engineering-xinjiang-police-mass-{index}",
            f"https://ipvm.com/reports/hik-xinjiang-{index}?code=lfjs{n}",
            f"https://en.wikipedia.org/wiki/Skynet_(surveillance_program_{index})",
            f"https://www.aspi.org.au/report/mapping-more-chinas-tech-giants-{index}/",
            f"https://foreignpolicy.com/2018/06/13/in-chinas-far-west-companies-cash-in-on-surveillance-program-{index}/",
            f"https://www.scmp.com/tech/policy/article/{n}/chinese-facial-recognition-firm-cloudwalk?utm_source=copy_link&utm_medium=share_widget&utm_campaign={index}",
            f"https://t.co/{rng.choice(['w7ZpIG', 'PoGSL2', 'Y4GHvK'])}{index:02d}uEFP",
        ]
    return choices[index % len(choices)]


@dataclass
class Endnote:
    """One endnote of a made-up report and everything it holds."""

    number: int
    text: str
    urls: list[str]
    accessed: str | None
    title: str | None
    publisher: str | None
    sentence: str
    chinese: bool
    link_only: list[str] = field(default_factory=list)  # URLs given only as a hyperlink ("online")


def endnotes(count: int = 60, seed: int = 7) -> list[Endnote]:
    """`count` endnotes, every other group of three in Chinese, in rotating citation styles."""
    rng = random.Random(seed)
    notes = []
    for i in range(1, count + 1):
        chinese = (i // 3) % 2 == 1
        subject, deed = (ZH_SUBJECTS if chinese else EN_SUBJECTS)[i % 10]
        url = _urls(rng, i, chinese)
        urls = [url]
        if chinese:
            sentence = f"据报道，{subject}{deed}（第{i}号）。"
            title = f"{subject}{deed}"
            publisher = ZH_PUBLISHERS[i % 10]
            shown, iso = ZH_DATES[i % len(ZH_DATES)]
            style = i % 3
            if style == 0:
                text = f"记者：《{title}》，{publisher}，2019年3月1日，{url}，访问日期：{shown}。"
            elif style == 1:
                text = (f"{publisher}. {title}[EB/OL]. (2019-03-01)[{iso}]. {url}.")
                publisher = None  # GB/T 7714 gives no quoted title: nothing to recognise
                title = None
            else:
                text = f"《{title}》，{publisher}，网址：（{url}），访问时间：{shown}。"
            accessed = iso
        else:
            sentence = f"Reports show that {subject} {deed} in case {i}."
            title = f"{subject} {deed}"
            publisher = EN_PUBLISHERS[i % 10]
            shown, iso = EN_DATES[i % len(EN_DATES)]
            style = i % 4
            if style == 0:
                text = f"Jane Doe, ‘{title}’, {publisher}, 18 April 2019, online, {url}, accessed {shown}."
                accessed = iso
            elif style == 1:
                us, iso = US_DATES[i % len(US_DATES)]
                text = f'Paul Mozur, "{title}," {publisher}, April 14, 2019, {url} (accessed {us}).'
                accessed = iso
            elif style == 2:
                text = f"Danielle Cave, ‘{title}’, {publisher}, <{url}>, viewed {shown}."
                accessed = iso
            else:
                text = f"‘{title}’, {publisher}, 2019, online: {url}."
                accessed = None
            if i % 10 == 7:
                second = _urls(rng, i + 100, False)
                text = text.rstrip(".") + f"; see also {second}."
                urls.append(second)
        notes.append(Endnote(i, text, urls, accessed, title, publisher, sentence, chinese))
    return notes


# --- PDF ---------------------------------------------------------------------------------------


def cjk_truetype(target: Path) -> Path:
    """A TrueType copy of Noto Sans CJK SC, subset to the characters the fixtures use.

    The font ships with PostScript (CFF) outlines; fpdf2 embeds those with its own encoding
    CMap, which text extractors do not read. Glyph outlines converted to TrueType (fontTools'
    cu2qu) embed as an ordinary Identity-H font with a ToUnicode map."""
    from fontTools import subset
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont, newTable

    found = glob.glob(CJK_FONT_GLOB)
    if not found:
        raise FileNotFoundError(f"no CJK font at {CJK_FONT_GLOB}: install fonts-noto-cjk")
    chars = set("".join(s + d for s, d in ZH_SUBJECTS) + "".join(ZH_PUBLISHERS) + "".join(d for d, _ in ZH_DATES))
    chars |= set("据报道，（第号）。记者：《》访问日期时间网址年月日、；“”‘’—…注释参考文献 ")
    chars |= {chr(c) for c in range(32, 127)}
    font = TTFont(found[0], fontNumber=2)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.glyph_names = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(chars)))
    subsetter.subset(font)
    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    font.sfntVersion = "\x00\x01\x00\x00"
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for name in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, name, 0)
    maxp.maxZones = 1
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 2.0
    font["post"].extraNames = []
    font["post"].mapping = {}
    font.save(target)
    return target


BREAK_AFTER = "/-.?&=_"


def _wrap(pdf, text: str, width: float) -> list[str]:
    """Lines of `text` no wider than `width`: breaks at spaces; a token too long for the rest of
    the line (a URL, a run of Chinese) is broken after a URL separator that fits, else at the
    last character that fits."""
    lines: list[str] = []
    line = ""
    for token in text.split(" "):
        candidate = f"{line} {token}" if line else token
        if pdf.get_string_width(candidate) <= width:
            line = candidate
            continue
        if line and pdf.get_string_width(token) <= width and not _breakable(token):
            lines.append(line)
            line = token
            continue
        rest = token
        prefix = f"{line} " if line else ""
        while pdf.get_string_width(prefix + rest) > width:
            fit = 0
            while fit < len(rest) and pdf.get_string_width(prefix + rest[: fit + 1]) <= width:
                fit += 1
            if "http" in rest:
                cut = max((k + 1 for k in range(fit) if rest[k] in BREAK_AFTER and k + 1 >= fit // 2), default=fit)
            else:  # Chinese text breaks between any two characters, but not inside a Latin word or number
                cut = max((k for k in range(1, fit + 1) if k == len(rest) or not (
                    rest[k - 1].isascii() and rest[k - 1].isalnum() and rest[k].isascii() and rest[k].isalnum())),
                    default=fit)
            if cut <= 0:
                lines.append(prefix.rstrip())
                prefix = ""
                continue
            lines.append(prefix + rest[:cut])
            rest = rest[cut:]
            prefix = ""
        line = prefix + rest
    if line:
        lines.append(line)
    return lines


def _breakable(token: str) -> bool:
    return "http" in token or any(ord(c) > 0x2E7F for c in token)


def make_pdf(path: Path, notes: list[Endnote], font_path: Path, *, title: str = "Mapping more surveillance giants",
             link_only: tuple[int, ...] = ()) -> Path:
    """A report: a title, body paragraphs whose sentences carry superscript note marks, then a
    "Notes" section with each note laid out line by line, long URLs wrapped. The notes numbered
    in `link_only` print "online" instead of their first URL, a link annotation to it."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font("noto", fname=str(font_path))
    pdf.add_page()
    pdf.set_font("noto", size=16)
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("noto", size=10)
    pdf.write(5, "Executive summary. An estimated 1.5 million people, COVID-19 screening and US$1.9 trillion "
                 "in funds are figures, not marks. ")
    pdf.ln(8)
    width = pdf.w - pdf.l_margin - pdf.r_margin - 4
    for start in range(0, len(notes), 5):
        paragraph = "".join(f"{n.sentence}\x01{n.number}\x02" + ("" if n.chinese else " ") for n in notes[start:start + 5])
        for line in _wrap(pdf, paragraph.strip(), width):
            for piece in re.split(r"(\x01\d+\x02)", line):
                if piece.startswith("\x01"):
                    pdf.char_vpos = "SUP"
                    pdf.write(5, piece.strip("\x01\x02"))
                    pdf.char_vpos = "LINE"
                elif piece:
                    pdf.write(5, piece)
            pdf.ln(5)
        pdf.ln(3)
    pdf.add_page()
    pdf.set_font("noto", size=14)
    pdf.cell(0, 8, "Notes", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("noto", size=8)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for note in notes:
        text, link = note.text, None
        if note.number in link_only:  # the URL only as a link on the word "online", as ASPI prints it
            link = note.urls[0]
            text = text.replace(f"<{link}>", "online").replace(link, "online", 1)
        for line in _wrap(pdf, f"{note.number} {text}", width):
            head, found, tail = line.partition("online") if link else (line, "", "")
            if not found:
                pdf.cell(0, 4, line, new_x="LMARGIN", new_y="NEXT")
                continue
            pdf.cell(pdf.get_string_width(head), 4, head, new_x="RIGHT", new_y="TOP")
            pdf.cell(pdf.get_string_width("online"), 4, "online", link=link, new_x="RIGHT", new_y="TOP")
            pdf.cell(0, 4, tail, new_x="LMARGIN", new_y="NEXT")
            link = None
    pdf.output(str(path))
    return path


# --- DOCX --------------------------------------------------------------------------------------

FOOTNOTES_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def make_docx(path: Path, notes: list[Endnote], kind: str = "footnote") -> Path:
    """A Word document whose paragraphs carry real footnotes (or, kind="endnote", endnotes):
    references in document.xml, notes in word/footnotes.xml (word/endnotes.xml) with the
    separator notes Word writes, URLs printed in the note or, for every fifth note, only as a
    hyperlink on the word "online"."""
    from xml.sax.saxutils import escape

    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml import parse_xml

    document = docx.Document()
    document.add_heading("Surveillance companies abroad", level=1)
    part = Part(PackURI(f"/word/{kind}s.xml"), FOOTNOTES_CT.replace("footnotes", f"{kind}s"), b"", document.part.package)
    document.part.relate_to(part, RT.FOOTNOTES if kind == "footnote" else RT.ENDNOTES)
    footnotes = [
        f'<w:{kind} w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:{kind}>',
        f'<w:{kind} w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:{kind}>',
    ]
    paragraph = None
    for note in notes:
        if paragraph is None or note.number % 4 == 1:
            paragraph = document.add_paragraph()
        paragraph.add_run(note.sentence)
        reference = parse_xml(
            f'<w:r xmlns:w="{W_NS}"><w:rPr><w:vertAlign w:val="superscript"/></w:rPr>'
            f'<w:{kind}Reference w:id="{note.number}"/></w:r>')
        paragraph._p.append(reference)
        if not note.chinese:
            paragraph.add_run(" ")
        runs = [f'<w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr><w:{kind}Ref/></w:r><w:r><w:t xml:space="preserve"> </w:t></w:r>']
        if note.number % 5 == 0:
            note.link_only = list(note.urls)
            text = note.text
            for url in note.urls:
                text = text.replace(f"<{url}>", "online").replace(url, "online")
            head, _, tail = text.partition("online")
            rid = part.relate_to(note.urls[0], RT.HYPERLINK, is_external=True)
            runs.append(f'<w:r><w:t xml:space="preserve">{escape(head)}</w:t></w:r>')
            runs.append(f'<w:hyperlink r:id="{rid}"><w:r><w:t>online</w:t></w:r></w:hyperlink>')
            runs.append(f'<w:r><w:t xml:space="preserve">{escape(tail)}</w:t></w:r>')
        else:
            runs.append(f'<w:r><w:t xml:space="preserve">{escape(note.text)}</w:t></w:r>')
        footnotes.append(f'<w:{kind} w:id="{note.number}"><w:p>{"".join(runs)}</w:p></w:{kind}>')
    part._blob = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                  f'<w:{kind}s xmlns:w="{W_NS}" xmlns:r="{R_NS}">{"".join(footnotes)}</w:{kind}s>').encode()
    document.save(str(path))
    return path


# --- HTML --------------------------------------------------------------------------------------


def make_html(path: Path, notes: list[Endnote], *, inline_url: str | None = None) -> Path:
    """An article page: navigation, the report with <sup><a href="#fnN"> marks, an inline link,
    and an ordered endnote list whose items hold the URLs as links and text, with back-links."""
    from html import escape

    body = []
    for start in range(0, len(notes), 4):
        sentences = []
        for note in notes[start:start + 4]:
            sentences.append(f'{escape(note.sentence)}<sup><a href="#fn{note.number}" id="ref{note.number}">'
                             f'{note.number}</a></sup>')
        body.append("<p>" + " ".join(sentences) + "</p>")
    if inline_url:
        body.append(f'<p>The ministry later <a href="{escape(inline_url)}">published the contract list</a> '
                    "on its own website.</p>")
    items = []
    for note in notes:
        text = escape(note.text)
        for url in note.urls:
            text = text.replace(escape(url), f'<a href="{escape(url)}">{escape(url)}</a>', 1)
        items.append(f'<li id="fn{note.number}">{text} <a href="#ref{note.number}">↩</a></li>')
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Mapping surveillance giants</title></head>
<body>
<nav><a href="https://example.org/">Home</a> <a href="https://example.org/reports">Reports</a></nav>
<main><article>
<h1>Mapping surveillance giants</h1>
{"".join(body)}
<section class="endnotes"><h2>Notes</h2><ol>
{"".join(items)}
</ol></section>
</article></main>
<footer><a href="https://example.org/privacy">Privacy</a></footer>
</body></html>"""
    path.write_text(page, encoding="utf-8")
    return path


def make_footnoted_pdf(path: Path, notes: list[Endnote], font_path: Path, *, per_page: int = 4) -> Path:
    """A paper with footnotes at the foot of each page (not an endnote list): `per_page`
    sentences with superscript marks, then their notes in small type, then a page number."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("noto", fname=str(font_path))
    width = pdf.w - pdf.l_margin - pdf.r_margin - 4
    for page_number, start in enumerate(range(0, len(notes), per_page), 1):
        pdf.add_page()
        pdf.set_font("noto", size=10)
        chunk = notes[start:start + per_page]
        paragraph = "".join(f"{n.sentence}\x01{n.number}\x02" + ("" if n.chinese else " ") for n in chunk)
        for line in _wrap(pdf, paragraph.strip(), width):
            for piece in re.split(r"(\x01\d+\x02)", line):
                if piece.startswith("\x01"):
                    pdf.char_vpos = "SUP"
                    pdf.write(5, piece.strip("\x01\x02"))
                    pdf.char_vpos = "LINE"
                elif piece:
                    pdf.write(5, piece)
            pdf.ln(5)
        pdf.set_y(200)
        pdf.set_font("noto", size=7)
        for note in chunk:
            for line in _wrap(pdf, f"{note.number} {note.text}", width):
                pdf.cell(0, 3.5, line, new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(-15)
        pdf.cell(0, 5, str(page_number), align="C")
    pdf.output(str(path))
    return path
