"""The real-page corpus and the changes the web makes to pages, applied by code.

`load_corpus()` reads manifest.json and the saved pages. `variants(page)` makes, from one saved
page, the second capture of each case with the verdict it must get:

- noise (unchanged): numbers and dates changed in the navigation, footer and sidebars
  (`noise-numbers`), teaser lists reordered (`noise-teasers`), scripts changed (`noise-scripts`),
  asset query strings changed (`noise-assets`), generated class names changed (`noise-classes`),
  the page re-encoded without a declared charset, GBK for Chinese pages and windows-1252 for the
  others (`reencoded`);
- altered: one number in the article edited (a word when the article has no number)
  (`number-edited`), one paragraph of the article removed (`paragraph-removed`);
- deleted: status 404 (`status-404`), the site's not-found notice served with 200 in the page's
  template (`soft-404`), a redirect to the site's home page (`redirect-home`), the article emptied
  inside its template (`emptied`).

Where the article is comes from the dataset's human labels: the strings its tests require in the
main text (and those they require out of it), or its article text. The article's element is the
smallest one holding the labelled text, widened while it holds no labelled furniture and stays
prose (see `article_element`). Cases that do not apply to a page (no teaser list, no asset URL,
an article that is the whole page) are left out and counted.
"""

from __future__ import annotations

import copy
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import lxml.html
import zstandard

from archiver.decode import decode_body

HERE = Path(__file__).resolve().parent
SKIP_TEXT = {"script", "style", "noscript", "template", "head", "title"}
FURNITURE_HINT = re.compile(r"foot|side|nav|menu|widget|related|aside|copyright|banner|sidebar", re.I)
COMMENTS_HINT = re.compile(r"comment|respond|reply|discuss|disqus|kommentar", re.I)
ASSET = re.compile(r"\.(?:css|js|png|jpe?g|gif|svg|webp|woff2?|ico)(?:\?[^\"'#]*)?$", re.I)
GENERATED_CLASS = re.compile(r"^(?=.*\d)(?=.*[a-zA-Z])[\w-]{4,}$|^(?:css|sc|jsx|svelte|emotion)-[\w-]+$")
NOT_FOUND_NOTICE = {
    "zh": "对不起，您访问的页面不存在或已被删除！",
    "ja": "お探しのページは見つかりませんでした。",
    "de": "Die angeforderte Seite wurde leider nicht gefunden.",
    "fr": "La page que vous recherchez est introuvable. Page not found.",
}
TEMPLATE_CHARS = 200
ARTICLE_CHARS = 200
NOT_FOUND_EN = "Sorry, the page you requested could not be found."
EXPECTED = {
    "noise-numbers": "unchanged", "noise-teasers": "unchanged", "noise-scripts": "unchanged",
    "noise-assets": "unchanged", "noise-classes": "unchanged", "reencoded": "unchanged",
    "number-edited": "altered", "paragraph-removed": "altered",
    "status-404": "deleted", "soft-404": "deleted", "redirect-home": "deleted", "emptied": "deleted",
}


@dataclass
class RealPage:
    """One saved page with its provenance and labels."""

    id: str
    lang: str
    raw: bytes
    positive: list[str]
    negative: list[str]
    source: dict
    url: str = ""


@dataclass
class Variant:
    """The second capture of one case: what the server answers, and the verdict it must get.
    not_found: the page the site serves for a made-up address with status 200 (None: a real 404);
    home: the site's home page."""

    case: str
    expected: str
    body: bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    redirect_to: str | None = None
    not_found: bytes | None = None
    home: bytes | None = None
    note: str = ""
    removed: str = ""


@dataclass
class Prepared:
    """A page parsed once: its tree, its article element, and the cases left out."""

    page: RealPage
    tree: object
    article: object | None
    skipped: dict[str, str] = field(default_factory=dict)


def _unzstd(path: Path) -> bytes:
    return zstandard.ZstdDecompressor().decompress(path.read_bytes(), max_output_size=20_000_000)


def load_corpus() -> list[RealPage]:
    """Every page of manifest.json, with its labels (a gold text becomes its paragraphs)."""
    pages = []
    for entry in json.loads((HERE / "manifest.json").read_text(encoding="utf-8")):
        labels = entry["labels"]
        if "gold" in labels:
            gold = _unzstd(HERE / labels["gold"]).decode("utf-8")
            positive = [line.strip() for line in gold.splitlines() if len(line.strip()) >= 12]
            negative: list[str] = []
        else:
            positive, negative = labels["positive"], labels["negative"]
        raw = _unzstd(HERE / "pages" / f"{entry['id']}.html.zst")
        url = entry.get("url") or f"http://site.example/{entry['id']}.html"
        pages.append(RealPage(entry["id"], entry["lang"], raw, positive, negative, entry["source"], url))
    return pages


# --- where the article is ------------------------------------------------------------------------


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _text(element) -> str:
    parts = []
    for node in element.iter():
        if node is not element and not isinstance(node.tag, str):
            continue
        if isinstance(node.tag, str) and node.tag in SKIP_TEXT:
            if node.tail and node is not element:
                parts.append(node.tail)
            continue
        if node.text:
            parts.append(node.text)
        if node is not element and node.tail:
            parts.append(node.tail)
    return "".join(parts)


def _link_share(element) -> float:
    total = len(_squeeze(_text(element)))
    links = sum(len(_squeeze(_text(a))) for a in element.iter("a"))
    return links / total if total else 1.0


def _holder(tree, needle: str):
    """The smallest element whose visible text holds `needle` (spacing ignored), or None."""
    key = _squeeze(needle)
    best = None
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag in SKIP_TEXT:
            continue
        if key in _squeeze(_text(element)):
            best = element  # document order: a descendant comes after its ancestor
    return best


def article_element(tree, positive: list[str], negative: list[str]):
    """The element holding the labelled article: the common ancestor of the elements holding the
    positive labels, widened to its parent while the parent holds no negative label, is not the
    body, and is not mostly link text (menus and teaser lists are)."""
    holders = [h for h in (_holder(tree, p) for p in positive[:40]) if h is not None]
    if not holders:
        return None
    paths = [list(reversed([h, *h.iterancestors()])) for h in holders]
    common = None
    for level in zip(*paths):
        if all(e is level[0] for e in level):
            common = level[0]
        else:
            break
    if common is None:
        return None
    negatives = [_squeeze(n) for n in negative]
    while True:
        parent = common.getparent()
        if parent is None or parent.tag in ("body", "html"):
            break
        text = _squeeze(_text(parent))
        if any(n and n in text for n in negatives) or _link_share(parent) > 0.3 or _holds_comments(parent, common):
            break
        common = parent
    return common if common.tag not in ("body", "html") else None


def _holds_comments(parent, child) -> bool:
    """Whether parent holds, besides child, an element named like a comment section."""
    for element in parent.iter():
        if element is child:
            continue
        if isinstance(element.tag, str) and COMMENTS_HINT.search(f"{element.get('class', '')} {element.get('id', '')}") \
                and not _inside(element, child):
            return True
    return False


def _in_comments(tree, label: str) -> bool:
    holder = _holder(tree, label)
    return holder is not None and any(
        isinstance(a.tag, str) and COMMENTS_HINT.search(f"{a.get('class', '')} {a.get('id', '')}")
        for a in (holder, *holder.iterancestors()))


def prepare(page: RealPage) -> Prepared:
    """Parse the page and find its article. Positive labels inside the reader comments are left
    out: the dataset's own tests keep comments in the text, the archiver's main text does not."""
    decoded = decode_body(page.raw, None)
    tree = lxml.html.document_fromstring(re.sub(r"^\s*<\?xml[^>]*\?>", "", decoded.text))
    page.positive = [label for label in page.positive if not _in_comments(tree, label)]
    return Prepared(page, tree, article_element(tree, page.positive, page.negative))


# --- serialising ------------------------------------------------------------------------------------


def _serialise(tree, encoding: str = "utf-8", declare: bool = True) -> bytes:
    """The page's markup in `encoding`, its charset declarations replaced (or removed)."""
    tree = copy.deepcopy(tree)
    head = tree.find("head")
    for meta in list(tree.iter("meta")):
        if meta.get("charset") is not None or (meta.get("http-equiv") or "").lower() == "content-type":
            meta.getparent().remove(meta)
    if declare and head is not None:
        meta = lxml.html.Element("meta", charset=encoding)
        head.insert(0, meta)
    markup = lxml.html.tostring(tree, encoding="unicode", doctype="<!DOCTYPE html>")
    return markup.encode(encoding, errors="xmlcharrefreplace")


def _inside(element, container) -> bool:
    return container is not None and (element is container or any(a is container for a in element.iterancestors()))


def _text_nodes(tree):
    """(element, attribute) for every visible text and tail, in document order."""
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag not in SKIP_TEXT and element.text and element.text.strip():
            yield element, "text"
        if element.tail and element.tail.strip() and element.getparent() is not None \
                and element.getparent().tag not in SKIP_TEXT:
            yield element, "tail"


def _owner(element, attribute):
    return element if attribute == "text" else element.getparent()


# --- the changes ---------------------------------------------------------------------------------------


def _bump_digits(text: str, rng: random.Random) -> str:
    return re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(1, 9)).zfill(len(m.group())), text)


def noise_numbers(p: Prepared, rng: random.Random) -> bytes | None:
    """Numbers and dates changed in the furniture (elements named like footers, sidebars and menus,
    or nav/footer/aside/header), outside the article; a footer stamp added when there is none."""
    tree = copy.deepcopy(p.tree)
    article = _match(p, tree)
    wrapper = article.getparent() if article is not None else None
    article_text = _squeeze(_text(article)) if article is not None else ""
    changed = 0
    for element, attribute in list(_text_nodes(tree)):
        owner = _owner(element, attribute)
        value = getattr(element, attribute)
        if _inside(owner, wrapper) or any(a.tag == "article" for a in owner.iterancestors()) \
                or not re.search(r"\d", value) or _squeeze(value) in article_text:
            continue
        hinted = any(a.tag in ("nav", "footer", "aside", "header")
                     or FURNITURE_HINT.search(f"{a.get('class', '')} {a.get('id', '')}")
                     for a in [owner, *owner.iterancestors()] if isinstance(a.tag, str))
        if hinted:
            setattr(element, attribute, _bump_digits(getattr(element, attribute), rng))
            changed += 1
    body = tree.find("body")
    if not changed and body is not None:
        stamp = lxml.html.fromstring(
            f'<div class="site-footer">Page views: {rng.randint(1000, 99999)} · updated 2024-05-0{rng.randint(1, 9)}</div>')
        body.append(stamp)
    return _serialise(tree)


def noise_teasers(p: Prepared, rng: random.Random) -> bytes | None:
    """Every list of three or more linked items outside the article, in reverse order."""
    tree = copy.deepcopy(p.tree)
    article = _match(p, tree)
    done = 0
    for listing in list(tree.iter("ul", "ol")):
        items = [li for li in listing if li.tag == "li"]
        if len(items) < 3 or _inside(listing, article) or any(a is listing for a in ([article] if article is not None else [])):
            continue
        if article is not None and any(e is listing for e in article.iterdescendants()):
            continue
        if sum(1 for li in items if li.find(".//a") is not None) < 3:
            continue
        tails = [li.tail for li in items]
        for li in items:
            listing.remove(li)
        for li, tail in zip(reversed(items), tails):
            li.tail = tail
            listing.append(li)
        done += 1
    return _serialise(tree) if done else None


def noise_scripts(p: Prepared, rng: random.Random) -> bytes | None:
    """Inline scripts given a new token, script URLs a new version, one tracking script added."""
    tree = copy.deepcopy(p.tree)
    for script in tree.iter("script"):
        if script.get("src"):
            script.set("src", _versioned(script.get("src"), rng))
        elif script.text:
            script.text = script.text + f"\n;window.__build='{rng.getrandbits(48):x}';"
    head = tree.find("head")
    if head is not None:
        tag = lxml.html.Element("script")
        tag.text = f"(function(){{var t={rng.randint(10**8, 10**9)};window.dataLayer=window.dataLayer||[];}})();"
        head.append(tag)
    return _serialise(tree)


def _versioned(url: str, rng: random.Random) -> str:
    base = url.split("?", 1)[0]
    return f"{base}?v={rng.getrandbits(32):x}"


def noise_assets(p: Prepared, rng: random.Random) -> bytes | None:
    """A new version query string on every stylesheet, image and icon URL."""
    tree = copy.deepcopy(p.tree)
    done = 0
    for element in tree.iter("link", "img", "source"):
        for attribute in ("href", "src"):
            value = element.get(attribute)
            if value and ASSET.search(value.split("#")[0]):
                element.set(attribute, _versioned(value, rng))
                done += 1
    return _serialise(tree) if done else None


def noise_classes(p: Prepared, rng: random.Random) -> bytes | None:
    """Generated class names (hashes, numbered tokens) rebuilt, as a new front-end build does, and
    the html element's no-js class switched."""
    tree = copy.deepcopy(p.tree)
    fresh: dict[str, str] = {}
    for element in tree.iter():
        if not isinstance(element.tag, str) or not element.get("class"):
            continue
        tokens = element.get("class").split()
        renamed = []
        for token in tokens:
            if GENERATED_CLASS.match(token):
                token = fresh.setdefault(token, re.sub(r"\d", lambda m: str(rng.randint(0, 9)), token))
            renamed.append(token)
        element.set("class", " ".join(renamed))
    root = tree.getroottree().getroot()
    root.set("class", (root.get("class", "").replace("no-js", "") + " js wf-active").strip())
    return _serialise(tree)


def reencoded(p: Prepared, rng: random.Random) -> tuple[bytes, str]:
    """The page re-served in GBK (Chinese) or windows-1252 (others), with no charset declared in the
    page or in the Content-Type header; characters the encoding lacks become character references."""
    encoding = "gbk" if p.page.lang == "zh" else "cp1252"
    return _serialise(p.tree, encoding, declare=False), "text/html"


def _match(p: Prepared, tree):
    """The element of a deep copy that corresponds to the article element of p.tree."""
    if p.article is None:
        return None
    path = p.tree.getroottree().getpath(p.article)
    found = tree.getroottree().xpath(path)
    return found[0] if found else None


def _labelled_blocks(p: Prepared, tree, article) -> list:
    """The smallest elements holding a positive label, inside the article and smaller than half of
    it: paragraphs the dataset says are article text."""
    size = len(_squeeze(_text(article)))
    blocks = []
    for label in p.page.positive:
        holder = _holder(article, label)
        if holder is None or holder is article or any(holder is b for b in blocks):
            continue
        if len(_squeeze(_text(holder))) <= size / 2:
            blocks.append(holder)
    return blocks


def number_edited(p: Prepared, rng: random.Random) -> tuple[bytes, str] | None:
    """One number in a labelled paragraph of the article changed (a word when none has a number)."""
    tree = copy.deepcopy(p.tree)
    article = _match(p, tree)
    if article is None:
        return None
    blocks = _labelled_blocks(p, tree, article)
    nodes = [(e, a) for block in blocks for e, a in _text_nodes(block) if _inside(_owner(e, a), block)]
    for element, attribute in nodes:
        value = getattr(element, attribute)
        match = re.search(r"(?<![\d.,:])[0-9]{1,6}(?![\d:])", value)
        if match:
            old = match.group()
            new = str(int(old) + 1) if not old.endswith("9") else str(int(old) - 1)
            _replace_everywhere(tree, value, value[:match.start()] + new + value[match.end():])
            return _serialise(tree), f"'{old}' -> '{new}'"
    for element, attribute in nodes:
        value = getattr(element, attribute)
        word = re.search(r"[^\W\d_]{6,}", value)
        if word and not re.search(r"[\u3040-\u9fff]", word.group()):
            _replace_everywhere(tree, value, value[:word.start()] + word.group()[::-1] + value[word.end():])
            return _serialise(tree), f"word '{word.group()}' edited"
        cjk = re.search(r"[\u4e00-\u9fff]{4,}", value)
        if cjk:
            chars = cjk.group()
            _replace_everywhere(tree, value, value[:cjk.start()] + chars[1] + chars[0] + chars[2:] + value[cjk.end():])
            return _serialise(tree), f"'{chars[:2]}' swapped"
    return None


def _replace_everywhere(tree, old: str, new: str) -> None:
    """Edit a text wherever the page shows it: a CMS renders every copy of a paragraph (print
    version, teaser, mobile block) from the same source."""
    for element, attribute in list(_text_nodes(tree)):
        if getattr(element, attribute) == old:
            setattr(element, attribute, new)


def paragraph_removed(p: Prepared, rng: random.Random) -> tuple[bytes, str] | None:
    """One labelled paragraph of the article removed (with the text that follows it in its parent)."""
    tree = copy.deepcopy(p.tree)
    article = _match(p, tree)
    if article is None:
        return None
    blocks = [b for b in _labelled_blocks(p, tree, article) if len(_squeeze(_text(b))) >= 20]
    if not blocks:
        return None
    element = blocks[len(blocks) // 2]
    text = _text(element).strip()
    key = _squeeze(text)
    copies = [e for e in tree.iter(element.tag) if _squeeze(_text(e)) == key]
    for copy_ in copies:
        if copy_.getparent() is not None:
            copy_.getparent().remove(copy_)
    return _serialise(tree), text[:60], text


def _emptied_tree(p: Prepared):
    """A copy of the page with the article element emptied, the rest of the labelled text, the
    reader comments and the structured data (JSON-LD, which may hold the article) removed. (None, None) when the article element holds
    under ARTICLE_CHARS characters (the labels are too few to say where the article is), or when
    the page left holds under TEMPLATE_CHARS: then the article was the page, not part of a template."""
    tree = copy.deepcopy(p.tree)
    article = _match(p, tree)
    if article is None or len(_squeeze(_text(article))) < ARTICLE_CHARS:
        return None, None
    for child in list(article):
        article.remove(child)
    article.text = None
    for label in p.page.positive:
        holder = _holder(tree, label)
        if holder is not None and holder.getparent() is not None and holder.tag not in ("body", "html") \
                and not _inside(article, holder):
            holder.getparent().remove(holder)
    for element in list(tree.iter()):
        if isinstance(element.tag, str) and element.getparent() is not None and element.tag not in ("body", "html") \
                and (COMMENTS_HINT.search(f"{element.get('class', '')} {element.get('id', '')}")
                     or (element.tag == "script" and "ld+json" in (element.get("type") or ""))):
            element.getparent().remove(element)
    body = tree.find("body")
    if body is None or len(_squeeze(_text(body))) < TEMPLATE_CHARS:
        return None, None
    return tree, article


def emptied(p: Prepared, rng: random.Random) -> bytes | None:
    """The article element left empty; the template (menus, teasers, footer) stays."""
    tree, _ = _emptied_tree(p)
    return _serialise(tree) if tree is not None else None


def soft_404(p: Prepared, rng: random.Random) -> bytes | None:
    """The site's not-found notice in its template, served with status 200 (for this page and for
    every made-up address)."""
    tree, article = _emptied_tree(p)
    if tree is None:
        return None
    notice = lxml.html.fromstring(f"<p>{NOT_FOUND_NOTICE.get(p.page.lang, NOT_FOUND_EN)}</p>")
    article.append(notice)
    title = tree.find(".//title")
    if title is not None:
        title.text = "404" if p.page.lang != "zh" else "404 页面不存在"
    return _serialise(tree)


def home_page(p: Prepared) -> bytes | None:
    """The site's home page: its template with a list of headlines where an article would be."""
    tree, article = _emptied_tree(p)
    if tree is None:
        return None
    links = [(a.get("href") or "/", " ".join(_text(a).split())) for a in tree.iter("a")]
    links = [(href, text) for href, text in links if len(text) >= 15][:25]
    listing = lxml.html.fromstring("<ul class='top-stories'></ul>")
    for href, text in links or [("/", "Home")]:
        item = lxml.html.Element("li")
        anchor = lxml.html.Element("a", href=href)
        anchor.text = text
        item.append(anchor)
        listing.append(item)
    article.append(listing)
    return _serialise(tree)


def variants(p: Prepared, seed: int = 0) -> list[Variant]:
    """The second capture of every case that applies to the page (the others go to p.skipped)."""
    rng = random.Random(f"{p.page.id}:{seed}")
    out: list[Variant] = []

    def add(case: str, made, **kwargs) -> None:
        if made is None:
            p.skipped[case] = "does not apply to this page"
            return
        note = removed = ""
        content_type = "text/html; charset=utf-8"
        if isinstance(made, tuple):
            made, extra, *rest = made
            if case == "reencoded":
                content_type = extra
            else:
                note = extra
            removed = rest[0] if rest else ""
        out.append(Variant(case, EXPECTED[case], made, content_type=content_type, note=note, removed=removed,
                           **kwargs))

    add("noise-numbers", noise_numbers(p, rng))
    add("noise-teasers", noise_teasers(p, rng))
    add("noise-scripts", noise_scripts(p, rng))
    add("noise-assets", noise_assets(p, rng))
    add("noise-classes", noise_classes(p, rng))
    add("reencoded", reencoded(p, rng))
    add("number-edited", number_edited(p, rng))
    add("paragraph-removed", paragraph_removed(p, rng))
    out.append(Variant("status-404", "deleted", b"<html><head><title>404 Not Found</title></head><body>"
                       b"<h1>Not Found</h1></body></html>", status=404))
    notice = soft_404(p, rng)
    add("soft-404", notice, not_found=notice)
    home = home_page(p)
    add("redirect-home", home, redirect_to="/", home=home)
    add("emptied", emptied(p, rng))
    return out
