"""Turn the bytes of a response into text, getting Chinese encodings right.

Chinese sites often declare their encoding wrongly: a page says UTF-8 and is served in
GBK, says GB2312 and uses GBK-only characters (朱镕基's 镕), or the server adds Tomcat's
default ISO-8859-1 to a GBK page. A wrong decision shows up as an "altered" page with
garbled text, so the declared charset is checked against the bytes before it is trusted:

1. a byte-order mark wins;
2. then the declaration (Content-Type header, then <meta> or the XML declaration), as long
   as the bytes decode cleanly with it; GB2312 and GBK are always read as GB18030 (their
   superset), Big5 as cp950 or Big5-HKSCS, Shift_JIS as cp932, EUC-KR as cp949, and
   ISO-8859-1/ASCII as windows-1252, as browsers do;
3. otherwise, or when the declaration is absent, unknown or contradicted by the bytes:
   strict UTF-8, then statistical detection among the encodings seen on CJK and Western
   pages;
4. last, the declared charset (else UTF-8) with replacement characters, so decoding
   never fails.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

PRESCAN_BYTES = 4096

# Candidate encodings for detection, most likely first (ties go to the earlier one).
DETECTION_CANDIDATES = ("gb18030", "big5", "utf_8", "shift_jis", "euc_kr", "cp1252")
MULTIBYTE_FAMILIES = {"gb18030", "big5", "utf-8", "shift_jis", "euc_kr"}

# UTF-8 that fails on a few stray bytes only (a corrupted character) is still UTF-8: read
# in a wrong encoding, most of its non-ASCII characters fail. (Legacy CJK encodings are
# not self-checking like this: a wrong one fails only here and there.)
TOLERATED_ERROR_RATIO = 0.02
# A clean UTF-8 decoding overrides a clean decoding with a declared legacy CJK charset
# only when it has at least this many non-ASCII characters (chance agreement is rare).
UTF8_OVERRIDE_MIN_CHARS = 3

# A clean GB/Big5 decoding is replaced by the other only when the detector finds it this
# much less "messy" (charset-normalizer's chaos ratio).
SECOND_OPINION_MARGIN = 0.02

_GB = ("gb18030",)
_BIG5 = ("cp950", "big5hkscs")
_BIG5_HKSCS = ("big5hkscs", "cp950")
_CP950 = ("cp950", "big5hkscs")
_SJIS = ("cp932",)
_EUC_KR = ("cp949",)
_WESTERN = ("cp1252", "iso8859-1")
_UTF8 = ("utf-8",)
_CHINESE_CODECS = {"gb18030", "cp950", "big5hkscs"}

# Labels Python does not know, or knows under a narrower codec than browsers use.
_ALIASES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        "gb2312 gbk gb18030 cp936 ms936 936 windows-936 x-gbk gb_2312 gb_2312-80 gb2312-80 "
        "gb2312-1980 csgb2312 chinese iso-ir-58 csiso58gb231280 euc-cn x-euc-cn euccn".split(),
        _GB,
    ),
    **dict.fromkeys("big5 big-5 big5-tw cn-big5 csbig5 x-x-big5 x-big5".split(), _BIG5),
    **dict.fromkeys("big5-hkscs big5hkscs hkscs".split(), _BIG5_HKSCS),
    **dict.fromkeys("cp950 windows-950 ms950 x-windows-950 950".split(), _CP950),
    **dict.fromkeys(
        "shift_jis shift-jis sjis x-sjis ms_kanji csshiftjis windows-31j ms932 cp932 "
        "x-ms-cp932".split(),
        _SJIS,
    ),
    **dict.fromkeys(
        "euc-kr euc_kr euckr cseuckr ks_c_5601-1987 ks_c_5601-1989 ksc5601 ksc_5601 korean "
        "iso-ir-149 windows-949 cp949 uhc".split(),
        _EUC_KR,
    ),
    **dict.fromkeys(
        "iso-8859-1 iso8859-1 iso_8859-1 latin1 latin-1 l1 cp819 ibm819 us-ascii ascii "
        "ansi_x3.4-1968 iso646-us windows-1252 cp1252 x-cp1252".split(),
        _WESTERN,
    ),
    **dict.fromkeys("utf-8 utf8 unicode-1-1-utf-8 x-unicode20utf8 unicode20utf8".split(), _UTF8),
    **dict.fromkeys("utf-16 utf-16le utf-16-le ucs-2 csunicode iso-10646-ucs-2 unicode".split(), ("utf-16-le",)),
    **dict.fromkeys("utf-16be utf-16-be unicodefffe".split(), ("utf-16-be",)),
    "windows-874": ("cp874",),
    "x-mac-roman": ("mac-roman",),
}
# Python codecs that are not page encodings, or are unsafe to honour (UTF-7).
_REFUSED = {"utf-7", "idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape",
            "unicode_escape", "raw_unicode_escape", "charmap", "mbcs", "oem"}

# Python codec name -> codecs to try instead (widened as browsers do).
_WIDENED = {
    "gb2312": _GB, "gbk": _GB, "gb18030": _GB, "hz": ("hz",),
    "big5": _BIG5, "big5hkscs": _BIG5_HKSCS, "cp950": _CP950,
    "shift_jis": _SJIS, "cp932": _SJIS, "euc_kr": _EUC_KR, "cp949": _EUC_KR,
    "ascii": _WESTERN, "iso8859-1": _WESTERN, "cp1252": _WESTERN, "utf-8": _UTF8,
}

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_LABEL = r"""["']?\s*([A-Za-z0-9][A-Za-z0-9_.:\-]*)"""
_HEADER_CHARSET = re.compile(r"charset\s*=\s*" + _LABEL, re.I)
_META_TAG = re.compile(rb"<meta\b([^>]*)>", re.I)
_META_CHARSET = re.compile(rb"charset\s*=\s*" + _LABEL.encode(), re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9_.:\-]+)["']""", re.I)
_COMMENT = re.compile(rb"<!--.*?-->", re.S)


@dataclass
class Decoded:
    """Text of a response and how its encoding was decided.

    charset is the Python codec actually used ("gb18030", "utf-8", "cp950", "cp1252" ...);
    source is "bom", "header", "meta", "detected" or "fallback".
    """

    text: str
    charset: str
    source: str


def _header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1).lower() if match else None


def _document_charset(body: bytes) -> str | None:
    head = _COMMENT.sub(b"", body[:PRESCAN_BYTES])
    for tag in _META_TAG.finditer(head):
        match = _META_CHARSET.search(tag.group(1))
        if match:
            return match.group(1).decode("ascii").lower()
    match = _XML_DECL.match(head)
    return match.group(1).decode("ascii").lower() if match else None


def _declarations(content_type: str | None, body: bytes) -> list[tuple[str, str]]:
    found = []
    header = _header_charset(content_type)
    if header:
        found.append((header, "header"))
    document = _document_charset(body)
    if document:
        found.append((document, "meta"))
    return found


def declared_charset(content_type: str | None, body: bytes) -> tuple[str | None, str | None]:
    """The charset a response claims, as (label, where), where is "header" or "meta".

    The Content-Type header wins over the document; in the document the first
    <meta charset> or <meta http-equiv="Content-Type"> of the first 4 KB counts, then an
    XML declaration. The label is returned lower-cased as written, even if unknown: use
    decode_body to learn the codec actually used. (None, None) when nothing is declared.
    """
    found = _declarations(content_type, body)
    return found[0] if found else (None, None)


def _codec_chain(label: str) -> tuple[str, ...] | None:
    """The codecs to try, in order, for a declared label; None when unknown or refused."""
    label = label.strip().lower()
    if label in _ALIASES:
        return _ALIASES[label]
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    return _WIDENED.get(info.name, (info.name,))


def _strict(body: bytes, codec: str) -> str | None:
    """Decode without errors, tolerating only an incomplete character at the very end
    (a body cut off by a size limit); None if any other byte is invalid."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    try:
        text = decoder.decode(body, final=False)
        pending = decoder.getstate()[0]
        return text + pending.decode(codec, "replace") if pending else text
    except UnicodeError:
        return None


def _non_ascii(text: str) -> int:
    return len(text) - len(text.encode("ascii", "ignore"))


def _error_ratio(text: str) -> float:
    """Share of replacement characters among the non-ASCII characters of a decoding."""
    non_ascii = _non_ascii(text)
    return text.count("\ufffd") / non_ascii if non_ascii else 0.0


def _is_single_byte(codec: str) -> bool:
    return codecs.lookup(codec).name in ("cp1252", "iso8859-1", "ascii")


def _first_clean(body: bytes, chain: tuple[str, ...]) -> tuple[str, str] | None:
    for codec in chain:
        text = _strict(body, codec)
        if text is not None:
            return text, codecs.lookup(codec).name
    return None


def _utf8_if_plausible(body: bytes, min_chars: int) -> str | None:
    text = _strict(body, "utf-8")
    if text is None:
        return None
    return text if _non_ascii(text) >= min_chars else None


def _detect(body: bytes, multibyte_only: bool, exclude: frozenset[str] = frozenset()) -> Decoded | None:
    """Statistical detection among the usual CJK and Western encodings; None if no
    candidate decodes the body cleanly.

    multibyte_only leaves out windows-1252, which decodes almost anything "cleanly" and
    so cannot contradict a declared multi-byte charset. exclude holds codec names that
    already failed.
    """
    if body.isascii():
        return Decoded(body.decode("ascii"), "utf-8", "detected")
    if "utf-8" not in exclude:
        text = _strict(body, "utf-8")
        if text is not None:
            return Decoded(text, "utf-8", "detected")
    candidates = [
        c
        for c in DETECTION_CANDIDATES
        if not (multibyte_only and c == "cp1252")
        and not {codecs.lookup(name).name for name in _codec_chain(c) or ()} <= exclude
    ]
    try:
        matches = list(charset_normalizer.from_bytes(body, cp_isolation=candidates))
    except Exception:  # noqa: BLE001 - detection is advisory; its failure must not stop decoding
        return None
    preference = {codecs.lookup(c).name: i for i, c in enumerate(DETECTION_CANDIDATES)}
    matches.sort(
        key=lambda m: (
            round(m.chaos, 3),
            -round(m.coherence, 3),
            preference.get(codecs.lookup(m.encoding).name, len(preference)),
        )
    )
    for match in matches:
        chain = _codec_chain(match.encoding)
        clean = _first_clean(body, chain) if chain else None
        if clean:
            return Decoded(clean[0], clean[1], "detected")
    return None


def _chinese_second_opinion(body: bytes, chain: tuple[str, ...]) -> Decoded | None:
    """The other Chinese encoding, when the declared GB or Big5 decodes cleanly but reads
    as noise and the other reads as text.

    GB18030 accepts nearly every Big5 byte pair and cp950 many GBK pairs, so a wrong
    GB/Big5 declaration rarely causes decoding errors; it shows in the statistics instead
    (Big5 read as GB gives private-use and rare characters, kana, symbols).
    """
    declared = {codecs.lookup(c).name for c in chain}
    try:
        matches = list(charset_normalizer.from_bytes(body, cp_isolation=["gb18030", "big5"]))
    except Exception:  # noqa: BLE001 - detection is advisory
        return None
    chaos: dict[tuple[str, ...], float] = {}
    for match in matches:
        family = _codec_chain(match.encoding) or ()
        chaos[family] = min(match.chaos, chaos.get(family, 1.0))
    declared_chaos = next((v for fam, v in chaos.items() if declared & set(fam)), 1.0)
    for family, value in sorted(chaos.items(), key=lambda item: item[1]):
        if declared & set(family) or declared_chaos - value < SECOND_OPINION_MARGIN:
            continue
        clean = _first_clean(body, family)
        if clean:
            return Decoded(clean[0], clean[1], "detected")
    return None


def _utf16_plausible(codec: str, body: bytes) -> bool:
    """A UTF-16/32 declaration without a BOM is believed only if the bytes hold NULs."""
    if codecs.lookup(codec).name.startswith(("utf-16", "utf-32")):
        return b"\x00" in body[:1024]
    return True


def decode_body(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode a response body to text; never raises.

    See the module docstring for the order of evidence. A declaration is kept if the bytes
    decode cleanly with it, with these exceptions: a body that is valid UTF-8 is read as
    UTF-8; a declared ISO-8859-1/windows-1252 gives way to another declaration or to a
    detected CJK encoding; a clean GB or Big5 decoding gives way to the other one when
    statistics say it reads as noise. A declaration the bytes contradict gives way to
    detection, except UTF-8 spoiled by a few stray bytes only. If nothing decodes cleanly,
    the first declared (else UTF-8) is used with replacement characters.
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return Decoded(body[len(bom):].decode(codec, "replace"), codec, "bom")

    declarations = [
        (chain, where)
        for label, where in _declarations(content_type, body)
        if (chain := _codec_chain(label)) and _utf16_plausible(chain[0], body)
    ]
    failed: set[str] = set()
    for chain, where in declarations:
        clean = _first_clean(body, chain)
        if clean is None:
            failed.update(codecs.lookup(c).name for c in chain)
            continue
        text, codec = clean
        if body.isascii() or codec == "utf-8":
            return Decoded(text, codec, where)
        single_byte = _is_single_byte(codec)
        utf8 = _utf8_if_plausible(body, 1 if single_byte else UTF8_OVERRIDE_MIN_CHARS)
        if utf8 is not None:
            return Decoded(utf8, "utf-8", "detected")
        if single_byte:
            for other_chain, other_where in declarations:
                if _is_single_byte(other_chain[0]):
                    continue
                other = _first_clean(body, other_chain)
                if other:
                    return Decoded(other[0], other[1], other_where)
            detected = _detect(body, multibyte_only=False)
            if detected and not _is_single_byte(detected.charset):
                return detected
        elif codec in _CHINESE_CODECS:
            second = _chinese_second_opinion(body, chain)
            if second:
                return second
        return Decoded(text, codec, where)

    if declarations:
        chain, where = declarations[0]
        codec = codecs.lookup(chain[0]).name
        lenient = body.decode(codec, "replace")
        if codec == "utf-8" and _error_ratio(lenient) <= TOLERATED_ERROR_RATIO:
            return Decoded(lenient, codec, where)
        detected = _detect(body, multibyte_only=True, exclude=frozenset(failed))
        if detected is None and _error_ratio(lenient) > TOLERATED_ERROR_RATIO:
            detected = _detect(body, multibyte_only=False, exclude=frozenset(failed))
        return detected or Decoded(lenient, codec, where)

    lenient = body.decode("utf-8", "replace")
    if _error_ratio(lenient) <= TOLERATED_ERROR_RATIO:
        return Decoded(lenient, "utf-8", "detected")
    return _detect(body, multibyte_only=False) or Decoded(lenient, "utf-8", "fallback")
