"""Citation reports as JSON (a stable interface, see docs/report-json.md), Markdown and HTML.

The HTML is one file (inline CSS, no scripts, fonts or images from elsewhere; only the
screenshots of the best captures, linked as thumbnails from a `screenshots` folder beside it)
whose source links carry Robust Links attributes: `data-originalurl` (the cited URL),
`data-versionurl` (the Wayback Machine copy, when there is one) and `data-versiondate` (the
date of that copy, else of the capture that best supports the citation), so a reader's
browser or a link checker can fall back to the archived version.
"""

from __future__ import annotations

import html
import re
from datetime import datetime

from archiver import dates
from archiver.anchors import Head
from evidence import PRESENT_STATUSES
from evidence.report import SCHEMA, CaptureRef, CitationReport, DataPointRef, Report

ALL_SCHEMA = "source-archiver/citation-reports/1"
SUPPORT_LABELS = {
    "live": "supports it live",
    "archive": "only through archives",
    "none": "not supported",
    "unchecked": "not checked yet",
}
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- JSON --------------------------------------------------------------------------------------


def screenshot_path(sha256: str) -> str:
    """Where a report links a screenshot, relative to the report (`archiver report -o FILE` writes
    the PNGs in a `screenshots` folder beside FILE)."""
    return f"screenshots/{sha256}.png"


def capture_json(ref: CaptureRef | None) -> dict | None:
    if ref is None:
        return None
    return {
        "capture_id": ref.id,
        "origin": ref.origin,
        "captured_at": _iso(ref.captured_at),
        "status": ref.status,
        "final_url": ref.final_url,
        "body_sha256": ref.body_sha256,
        "text_sha256": ref.text_sha256,
        "wayback_url": ref.wayback_url,
        "wayback_timestamp": ref.wayback_timestamp,
        "screenshots": [{"sha256": key, "path": screenshot_path(key)} for key in ref.screenshots],
        "vantage": ref.vantage,
    }


def datapoint_json(point: DataPointRef | None) -> dict | None:
    if point is None:
        return None
    return {
        "id": point.id, "entity": point.entity, "country": point.country, "category": point.category,
        "place": point.place, "latitude": point.latitude, "longitude": point.longitude, "date": point.date,
        "description": point.description, "claim_id": point.claim_id,
    }


def citation_json(c: CitationReport) -> dict:
    wayback = None
    if c.wayback is not None:
        wayback = {
            "url": c.wayback.wayback_url,
            "archived_at": _iso(c.wayback.wayback_date or c.wayback.captured_at),
            "capture_id": c.wayback.id,
        }
    return {
        "citation_id": c.citation_id,
        "claim_id": c.claim_id,
        "datapoint": datapoint_json(c.datapoint),
        "url": c.url,
        "final_url": c.final_url,
        "title": c.title,
        "publisher": c.publisher,
        "lang": c.lang,
        "accessed": c.accessed,
        "note": c.note,
        "quote": c.quote,
        "quote_status": c.quote_status,
        "quote_detail": c.quote_detail,
        "quote_score": c.quote_score,
        "closest": c.closest,
        "quote_checked_at": _iso(c.quote_checked_at),
        "quote_missing_since": _iso(c.quote_missing_since),
        "state": c.state,
        "state_since": _iso(c.state_since),
        "state_reason": c.state_reason,
        "last_checked": _iso(c.last_checked),
        "unreachable_since": _iso(c.unreachable_since),
        "support": c.support,
        "problems": list(c.problems),
        "best_capture": capture_json(c.best_capture),
        "wayback": wayback,
        "wayback_note": c.wayback_note,
        "citation_line": c.citation_line,
    }


def report_json(report: Report, *, with_schema: bool = True) -> dict:
    """One report as the JSON interface documents it."""
    v = report.verdict
    data: dict[str, object] = {"schema": SCHEMA} if with_schema else {}
    data.update({
        "generated_at": _iso(report.generated_at),
        "kind": report.kind,
        "claim": {"id": report.id, "text": report.text, "tags": report.tags} if report.kind == "claim" else None,
        "datapoint": datapoint_json(report.datapoint),
        "verdict": {
            "level": v.level, "citations": v.citations, "live": v.live, "archive_only": v.archive,
            "none": v.none, "unchecked": v.unchecked, "summary": v.summary,
        },
        "citations": [citation_json(c) for c in report.citations],
        "datapoints": [datapoint_json(p) for p in report.datapoints],
        "claim_id": report.claim_id,
    })
    if report.package is not None:
        p = report.package
        data["evidence_package"] = {"path": p.path, "sha256": p.sha256, "size": p.size, "captures": p.captures}
    data["chain_head"] = _head_json(report.chain_head)
    return data


def _head_json(head: Head | None) -> dict | None:
    return head.as_json() if head is not None and head.record_hash else None


def _head_of(reports: list[Report], chain_head: Head | None) -> Head | None:
    return chain_head or next((r.chain_head for r in reports if r.chain_head is not None), None)


def reports_json(reports: list[Report], generated_at: datetime, chain_head: Head | None = None) -> dict:
    return {"schema": ALL_SCHEMA, "generated_at": _iso(generated_at),
            "reports": [report_json(r, with_schema=False) for r in reports],
            "chain_head": _head_json(_head_of(reports, chain_head))}


# --- Markdown ----------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<|])")


def md(text: str | None) -> str:
    """Inline Markdown text with the characters that would turn into markup escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join((text or "").split()))


def _md_quote(text: str) -> str:
    return "\n".join(f"  > {md(line)}" if line.strip() else "  >" for line in text.splitlines())


def _state_text(c: CitationReport) -> str:
    text = c.state
    if c.state == "unreachable" and c.unreachable_since:
        text += f" since {dates.when(c.unreachable_since, utc=True)}"
    elif c.state_since:
        text += f" since {dates.when(c.state_since, utc=True)}"
    return text


def _quote_status_text(c: CitationReport) -> str:
    if c.quote_status == "present":
        return f"present (checked {dates.when(c.quote_checked_at, utc=True)})"
    if c.quote_status == PRESENT_STATUSES[1]:
        return f"present (outside the main text; checked {dates.when(c.quote_checked_at, utc=True)})"
    if c.quote_status == "missing":
        since = f" since {dates.when(c.quote_missing_since, utc=True)}" if c.quote_missing_since else ""
        return f"MISSING{since}"
    return "not checked yet"


def _capture_text(ref: CaptureRef) -> str:
    origin = {"live": "live capture", "wayback": "recovered from the Wayback Machine",
              "warc": "imported from a WARC file"}.get(ref.origin, ref.origin)
    seen_from = f", from vantage {ref.vantage}" if ref.vantage and ref.vantage != "default" else ""
    return f"{dates.when(ref.captured_at, utc=True)} ({origin}{seen_from}, capture {ref.id})"


def citation_md(c: CitationReport, number: int) -> str:
    heading = " — ".join(p for p in (c.title or c.url, c.publisher) if p)
    lines = [f"### {number}. {md(heading)}", ""]
    lines.append(f"- **Support:** {SUPPORT_LABELS[c.support]}" + (f" ({md('; '.join(c.problems))})" if c.problems else ""))
    lines.append(f"- **URL:** <{c.url}>" + (f" (now at <{c.final_url}>)" if c.final_url and c.final_url != c.url else ""))
    details = [f"language {md(c.lang)}" if c.lang else None, f"accessed {md(c.accessed)}" if c.accessed else None,
               f"note: {md(c.note)}" if c.note else None]
    if any(details):
        lines.append("- " + "; ".join(d for d in details if d))
    if c.datapoint is not None:
        lines.append(f"- **Data point:** {md(c.datapoint.id)} ({md(c.datapoint.label)})")
    lines.append(f"- **Source state:** {md(_state_text(c))}" + (f" — {md(c.state_reason)}" if c.state_reason else ""))
    if c.quote:
        lines.append(f"- **Quote:** {_quote_status_text(c)}")
        lines.append(_md_quote(c.quote))
        if c.quote_status == "missing":
            if c.closest:
                lines.append("  - Closest passage on the page now:")
                lines.append("  " + _md_quote(c.closest))
            if c.quote_detail:
                lines.append(f"  - {md(c.quote_detail)}")
    else:
        lines.append("- **Quote:** none given")
    if c.best_capture is not None:
        label = "Best supporting capture" if c.quote else "Latest good capture"
        lines.append(f"- **{label}:** {_capture_text(c.best_capture)}")
        if c.best_capture.body_sha256:
            lines.append(f"  - SHA-256 `{c.best_capture.body_sha256}`")
        for key in c.best_capture.screenshots:
            lines.append(f"  - Screenshot: [![screenshot of capture {c.best_capture.id}]({screenshot_path(key)})]"
                         f"({screenshot_path(key)}) SHA-256 `{key}`")
    else:
        lines.append("- **Best supporting capture:** none")
    if c.wayback is not None:
        day = dates.day(c.wayback.wayback_date or c.wayback.captured_at)
        lines.append(f"- **Wayback Machine:** <{c.wayback.wayback_url}> ({day})")
    if c.wayback_note:
        lines.append(f"- **Wayback Machine:** {md(c.wayback_note)}")
    lines.append(f"- **Cite as:** {md(c.citation_line)}")
    return "\n".join(lines)


def report_md(report: Report, *, level: int = 1) -> str:
    """A report as Markdown; level 2 when it is one section of a larger document."""
    h = "#" * level
    title = f"Citation report: {report.id}" if report.kind == "claim" else f"Citation report: data point {report.id}"
    parts = [f"{h} {md(title)}", "", f"> {md(report.text)}", ""]
    if report.tags:
        parts += [f"Tags: {', '.join(md(t) for t in report.tags)}", ""]
    if report.datapoint is not None:
        parts += [f"Data point: {md(report.datapoint.label)}", ""]
    if report.claim_id:
        parts += [f"Linked to claim {md(report.claim_id)}: its citations back this data point too.", ""]
    if report.datapoints:
        parts += ["Data points:", *(f"- {md(p.id)}: {md(p.label)}" for p in report.datapoints), ""]
    parts += [f"**Verdict: {report.verdict.level}.** {md(report.verdict.summary)}", ""]
    for number, c in enumerate(report.citations, 1):
        parts += [citation_md(c, number).replace("### ", "#" * (level + 2) + " ", 1), ""]
    if report.package is not None:
        p = report.package
        parts += [f"**Evidence package (WACZ):** `{md(p.path)}`: {p.captures} captures, {p.size:,} bytes, "
                  f"SHA-256 `{p.sha256}`", ""]
    if level == 1:
        parts += [f"_Generated {dates.when(report.generated_at, utc=True)} by source-archiver._", "", _head_md(report.chain_head)]
    return "\n".join(parts).rstrip() + "\n"


def _head_md(head: Head | None) -> str:
    """The archive's chain head, in words `archiver verify --anchor` reads back from this file."""
    if head is None or not head.record_hash:
        return "Archive hash-chain head: none (the archive held no captures)."
    where = f"capture {head.capture_id}" + (f", event {head.event_id}" if head.event_id is not None else "")
    return (f"Archive hash-chain head: {where}, record hash `{head.record_hash}` (keep this report: "
            "`archiver verify --anchor` checks that the archive still holds this head).")


def reports_md(reports: list[Report], generated_at: datetime, chain_head: Head | None = None) -> str:
    """Every report in one Markdown document, with an overview table first."""
    lines = ["# Citation reports", "", f"_Generated {dates.when(generated_at, utc=True)} by source-archiver. "
             "Claims at risk come first._", "", _head_md(_head_of(reports, chain_head)), "",
             "| claim | verdict | live | archives only | none | unchecked |",
             "|---|---|---|---|---|---|"]
    for r in reports:
        v = r.verdict
        lines.append(f"| {md(r.id)} | {v.level} | {v.live} | {v.archive} | {v.none} | {v.unchecked} |")
    lines.append("")
    for r in reports:
        lines += [report_md(r, level=2), ""]
    return "\n".join(lines).rstrip() + "\n"


# --- HTML --------------------------------------------------------------------------------------

CSS = """
img.thumb { border: 1px solid #ccc; max-width: 240px; height: auto; }
pre.provenance { white-space: pre-wrap; word-break: break-all; font-size: .8rem; }
:root { color-scheme: light; --ok: #1b7f3b; --warn: #a15c00; --bad: #b3261e; --muted: #5f6368; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 60rem; padding: 1.5rem; line-height: 1.55; color: #1f1f1f; background: #fff;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", "Source Han Sans SC",
  "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", sans-serif; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; } h2 { font-size: 1.25rem; margin-top: 2.5rem; }
h3 { font-size: 1.05rem; margin: 0 0 .5rem; }
.claim { font-size: 1.15rem; border-left: 4px solid #444; margin: .75rem 0; padding: .25rem 1rem; }
.verdict { padding: .75rem 1rem; border-radius: 6px; margin: 1rem 0; font-weight: 600; }
.level-ok { background: #e6f4ea; color: var(--ok); }
.level-at-risk, .level-unsupported { background: #fce8e6; color: var(--bad); }
.level-unchecked { background: #fef7e0; color: var(--warn); }
.citation { border: 1px solid #dadce0; border-radius: 8px; padding: 1rem 1.25rem; margin: 1rem 0; }
.support-live { border-left: 6px solid var(--ok); } .support-archive { border-left: 6px solid var(--warn); }
.support-none { border-left: 6px solid var(--bad); } .support-unchecked { border-left: 6px solid #bbb; }
.badge { display: inline-block; font-size: .8rem; padding: .1rem .5rem; border-radius: 1rem; background: #eee;
         margin-right: .25rem; }
.present { color: var(--ok); font-weight: 600; } .missing { color: var(--bad); font-weight: 600; }
blockquote { margin: .5rem 0; padding: .25rem .75rem; background: #f8f9fa; border-left: 3px solid #bbb; }
blockquote.closest { border-left-color: var(--bad); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .5rem 0; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
code, .hash { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .85rem;
              overflow-wrap: anywhere; }
.cite-line { background: #f1f3f4; padding: .5rem .75rem; border-radius: 4px; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e0e0e0; }
.muted, footer { color: var(--muted); font-size: .85rem; }
@media print { .citation { break-inside: avoid; } }
"""


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _lang_attr(text: str | None, lang: str | None = None) -> str:
    if lang:
        return f' lang="{esc(lang)}"'
    return ' lang="zh"' if text and _CJK.search(text) else ""


def _web(url: str | None) -> str | None:
    """`url` when it is an http(s) address, else None: a link never runs a javascript: or data: URL."""
    return url if url and url.lower().startswith(("http://", "https://")) else None


def _attrs(**values) -> str:
    return "".join(f' {name.replace("_", "-")}="{esc(value)}"' for name, value in values.items() if value)


def source_link(c: CitationReport) -> str:
    """The cited URL as a Robust Link: the original, its archived version and the version's date."""
    version_url = c.wayback.wayback_url if c.wayback is not None else None
    version_date: str | None
    if c.wayback is not None:
        version_date = dates.day(c.wayback.wayback_date or c.wayback.captured_at)
    else:
        version_date = dates.day(c.best_capture.captured_at) if c.best_capture else None
    attrs = _attrs(href=_web(c.url), data_originalurl=c.url, data_versionurl=_web(version_url),
                   data_versiondate=version_date)
    return f'<a class="source-link"{attrs}>{esc(c.url)}</a>'


def _version_link(c: CitationReport) -> str:
    if c.wayback is None:
        return ""
    date = dates.day(c.wayback.wayback_date or c.wayback.captured_at)
    attrs = _attrs(href=_web(c.wayback.wayback_url), data_originalurl=c.url, data_versiondate=date)
    return f'<a class="version-link"{attrs}>{esc(c.wayback.wayback_url)}</a> ({esc(date)})'


def citation_html(c: CitationReport, number: int) -> str:
    title = c.title or c.url
    rows = [("Source", source_link(c) + (f'<br><span class="muted">now at {esc(c.final_url)}</span>'
                                         if c.final_url and c.final_url != c.url else ""))]
    if c.publisher:
        rows.append(("Publisher", esc(c.publisher)))
    if c.lang:
        rows.append(("Language", esc(c.lang)))
    if c.accessed:
        rows.append(("Accessed", esc(c.accessed)))
    if c.note:
        rows.append(("Note", f"<span{_lang_attr(c.note)}>{esc(c.note)}</span>"))
    if c.datapoint is not None:
        rows.append(("Data point", f"{esc(c.datapoint.id)} <span class=\"muted\"{_lang_attr(c.datapoint.label)}>"
                                   f"{esc(c.datapoint.label)}</span>"))
    state = esc(_state_text(c)) + (f'<br><span class="muted">{esc(c.state_reason)}</span>' if c.state_reason else "")
    rows.append(("Source state", f'<span class="state state-{esc(c.state)}">{state}</span>'))
    quote_html = '<p class="muted">No quote given.</p>'
    if c.quote:
        css = "present" if c.quote_status in PRESENT_STATUSES else "missing" if c.quote_status == "missing" else "muted"
        quote_html = (f'<p>Quote: <span class="quote-status {css}">{esc(_quote_status_text(c))}</span></p>'
                      f'<blockquote class="quote"{_lang_attr(c.quote, c.lang)}>{esc(c.quote)}</blockquote>')
        if c.quote_status == "missing" and c.closest:
            quote_html += (f'<p class="muted">Closest passage on the page now:</p>'
                           f'<blockquote class="closest"{_lang_attr(c.closest, c.lang)}>{esc(c.closest)}</blockquote>')
        if c.quote_status == "missing" and c.quote_detail:
            quote_html += f'<p class="muted">{esc(c.quote_detail)}</p>'
    if c.best_capture is not None:
        ref = c.best_capture
        rows.append(("Best capture" if c.quote else "Latest good capture", esc(_capture_text(ref))))
        if ref.body_sha256:
            rows.append(("SHA-256", f'<span class="hash">{esc(ref.body_sha256)}</span>'))
        for key in ref.screenshots:
            path = esc(screenshot_path(key))
            rows.append(("Screenshot", f'<a href="{path}"><img class="thumb" src="{path}" width="240" loading="lazy" '
                                       f'alt="Full-page screenshot of capture {ref.id}"></a>'
                                       f'<br><span class="hash">{esc(key)}</span>'))
        if ref.provenance:
            from archiver.provenance import describe

            lines = "\n".join(describe(ref.provenance))
            rows.append(("Provenance", f"<details><summary>How capture {ref.id} was collected</summary>"
                                       f'<pre class="provenance">{esc(lines)}</pre></details>'))
    else:
        rows.append(("Best capture", "none"))
    if c.wayback is not None:
        rows.append(("Wayback Machine", _version_link(c)))
    if c.wayback_note:
        rows.append(("Wayback Machine", f'<span class="muted">{esc(c.wayback_note)}</span>'))
    problems = "".join(f'<span class="badge">{esc(p)}</span>' for p in c.problems)
    body = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    return (
        f'<section class="citation support-{esc(c.support)}" id="citation-{c.citation_id}">'
        f'<h3><span{_lang_attr(title)}>{number}. {esc(title)}</span></h3>'
        f'<p><span class="badge support">{esc(SUPPORT_LABELS[c.support])}</span>{problems}</p>'
        f"{quote_html}<dl>{body}</dl>"
        f'<p class="muted">Cite as:</p><p class="cite-line"{_lang_attr(c.citation_line)}>{esc(c.citation_line)}</p>'
        "</section>"
    )


def report_section(report: Report, *, heading: str = "h1") -> str:
    level = report.verdict.level.replace(" ", "-")
    label = f"Data point {report.id}" if report.kind == "datapoint" else f"Claim {report.id}"
    tags = "".join(f'<span class="badge">{esc(t)}</span>' for t in report.tags)
    citations = "".join(citation_html(c, n) for n, c in enumerate(report.citations, 1))
    return (
        f'<article class="report" id="{esc(report.kind)}-{esc(report.id)}">'
        f"<{heading}>{esc(label)}</{heading}>"
        f'<p class="claim"{_lang_attr(report.text)}>{esc(report.text)}</p>'
        + (f"<p>{tags}</p>" if tags else "")
        + (f'<p class="muted">Linked to claim {esc(report.claim_id)}: its citations back this data point too.</p>'
           if report.claim_id else "")
        + ('<p class="muted">Data points:</p><ul>'
           + "".join(f"<li>{esc(p.id)}: <span{_lang_attr(p.label)}>{esc(p.label)}</span></li>" for p in report.datapoints)
           + "</ul>" if report.datapoints else "")
        + f'<p class="verdict level-{esc(level)}">Verdict: {esc(report.verdict.level)}. {esc(report.verdict.summary)}</p>'
        f"{citations}{_package_html(report)}</article>"
    )


def _package_html(report: Report) -> str:
    p = report.package
    if p is None:
        return ""
    return (f'<p class="package">Evidence package (WACZ): <code>{esc(p.path)}</code>, {p.captures} captures, '
            f"{p.size:,} bytes, SHA-256 <code>{esc(p.sha256)}</code></p>")


def _head_html(head: Head | None) -> str:
    if head is None or not head.record_hash:
        return '<p class="chain-head">Archive hash-chain head: none (the archive held no captures).</p>'
    where = f"capture {head.capture_id}" + (f", event {head.event_id}" if head.event_id is not None else "")
    return (f'<p class="chain-head">Archive hash-chain head: {esc(where)}, record hash '
            f'<code class="hash">{esc(head.record_hash)}</code> (keep this report: <code>archiver verify --anchor</code> '
            "checks that the archive still holds this head).</p>")


def _page(title: str, body: str, generated_at: datetime, head: Head | None) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n"
        f"<footer>Generated {esc(dates.when(generated_at, utc=True))} by source-archiver. Source links carry Robust Links "
        f"attributes (data-originalurl, data-versionurl, data-versiondate).{_head_html(head)}</footer>\n</body>\n</html>\n"
    )


def report_html(report: Report) -> str:
    """One report as a self-contained HTML page."""
    return _page(f"Citation report: {report.id}", report_section(report), report.generated_at, report.chain_head)


def reports_html(reports: list[Report], generated_at: datetime, chain_head: Head | None = None) -> str:
    """Every report in one self-contained HTML page, with an overview table first."""
    rows = "".join(
        f'<tr><td><a href="#{esc(r.kind)}-{esc(r.id)}">{esc(r.id)}</a></td><td>{esc(r.verdict.level)}</td>'
        f"<td>{r.verdict.live}</td><td>{r.verdict.archive}</td><td>{r.verdict.none}</td><td>{r.verdict.unchecked}</td></tr>"
        for r in reports
    )
    overview = (
        "<h1>Citation reports</h1><p class=\"muted\">Claims at risk come first.</p>"
        "<table><thead><tr><th>claim</th><th>verdict</th><th>live</th><th>archives only</th><th>none</th>"
        f"<th>unchecked</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    sections = "".join(report_section(r, heading="h2") for r in reports)
    return _page("Citation reports", overview + sections, generated_at, _head_of(reports, chain_head))
