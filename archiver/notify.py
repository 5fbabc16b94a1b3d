"""Tell the team after a pass: one digest of the cited sources that changed, and the claims at risk.

A source belongs in the digest when its capture in this run turned it altered, moved or
deleted (a page that was already deleted at its previous check is not news again), or when a
quote cited from it went missing. Plugins say which claims cite each source
(`plugins.claims_for_sources`) and which quotes went missing (`plugins.findings`); without a
plugin that knows citations, every tracked source counts as cited.

The digest goes to an incoming webhook (a JSON POST whose `text` Slack and Mattermost show,
with the same facts as structured fields for other receivers) and/or by email (SMTP, with
optional STARTTLS or TLS and login). Each channel is tried `notify.retries` more times,
`notify.retry_delay` seconds apart; a channel that still fails is logged and noted on the
run's `error`, and never fails the pass.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from archiver import TOOL_NAME, __version__, dates, plugins
from archiver.config import NotifyConfig
from archiver.models import Capture, Run, Source
from archiver.redact import scrub

log = logging.getLogger(__name__)

CHANGE_STATES = ("altered", "moved", "deleted")
QUIET_VERDICTS = (None, "unreachable")
SHORT = 160


@dataclass
class SourceChange:
    """One cited source that needs a look after this run."""

    source_id: int
    url: str
    title: str | None
    state: str | None
    reason: str | None
    final_url: str | None
    capture_id: int | None
    cited_by: list[dict] = field(default_factory=list)
    quotes_missing: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "source_id": self.source_id, "url": self.url, "title": self.title, "state": self.state,
            "reason": self.reason, "final_url": self.final_url, "capture_id": self.capture_id,
            "claims": sorted({c["claim"] for c in self.cited_by if c.get("claim")}),
            "datapoints": sorted({c["datapoint"] for c in self.cited_by if c.get("datapoint")}),
            "quotes_missing": [
                {"citation_id": q["citation_id"], "claim": q.get("claim"), "datapoint": q.get("datapoint"),
                 "quote": q.get("quote")}
                for q in self.quotes_missing
            ],
        }


@dataclass
class Digest:
    """Everything one notification says about one run."""

    run_id: int
    run_started: str
    changes: list[SourceChange]

    def claims(self) -> list[dict]:
        """The claims (and data points without a claim) at risk, each with its changed sources."""
        at_risk: dict[str, dict] = {}
        for change in self.changes:
            missing = {q["citation_id"] for q in change.quotes_missing}
            for cite in change.cited_by:
                if cite.get("claim"):
                    key, label, text = f"claim:{cite['claim']}", cite["claim"], cite.get("claim_text")
                elif cite.get("datapoint"):
                    key, label, text = f"datapoint:{cite['datapoint']}", cite["datapoint"], cite.get("datapoint_text")
                else:
                    continue
                entry = at_risk.setdefault(key, {
                    "kind": key.split(":")[0], "id": label, "text": text, "sources": [],
                })
                entry["sources"].append({
                    "url": change.url, "state": change.state, "quote": cite.get("quote"),
                    "datapoint": cite.get("datapoint") if entry["kind"] == "claim" else None,
                    "quote_status": "missing" if cite.get("citation_id") in missing else None,
                })
        return sorted(at_risk.values(), key=lambda c: (c["kind"] != "claim", c["id"]))

    def title(self) -> str:
        n, claims = len(self.changes), len(self.claims())
        sources = f"{n} cited source{'s' if n != 1 else ''} changed"
        return f"{sources}, {claims} claim{'s' if claims != 1 else ''} at risk" if claims else sources

    def text(self) -> str:
        """The digest as plain text, readable in chat and in mail."""
        lines = [f"{TOOL_NAME}: {self.title()} (run {self.run_id}, {self.run_started} UTC)", ""]
        claims = self.claims()
        for claim in claims:
            kind = "Claim" if claim["kind"] == "claim" else "Data point"
            lines.append(f"{kind} {claim['id']}: {_short(claim['text'])}" if claim["text"] else f"{kind} {claim['id']}")
            for src in claim["sources"]:
                line = f"  - {src['state'] or 'changed'}: {src['url']}"
                if src["datapoint"]:
                    line += f"  (data point {src['datapoint']})"
                if src["quote_status"] == "missing":
                    line += f"  (quote missing: \u201c{_short(src['quote'], 100)}\u201d)"
                lines.append(line)
        uncited = [c for c in self.changes if not any(x.get("claim") or x.get("datapoint") for x in c.cited_by)]
        if uncited:
            if claims:
                lines.append("")
            lines.append("Sources:" if not claims else "Other sources:")
        for change in uncited:
            lines.append(f"  - {change.state or 'changed'}: {change.url}")
        lines.append("")
        lines.append("Why each changed:")
        for change in self.changes:
            reason = change.reason or ""
            if change.state == "moved" and change.final_url and change.final_url not in reason:
                reason = f"now at {change.final_url}" + (f"; {reason}" if reason else "")
            lines.append(f"  - {change.url}: {_short(reason, 200)}")
        lines.append("")
        lines.append("See them with `archiver status --state altered` (or moved, deleted) and `archiver diff URL`.")
        return "\n".join(lines)

    def as_json(self) -> dict:
        """The webhook payload: `text` for chat, the same facts as fields for scripts."""
        return {
            "text": self.text(),
            "title": self.title(),
            "run_id": self.run_id,
            "run_started": self.run_started,
            "claims": self.claims(),
            "sources": [c.as_json() for c in self.changes],
        }


@dataclass
class Delivery:
    """How sending to one channel went."""

    channel: str
    ok: bool
    attempts: int
    error: str | None = None


def _short(text: str | None, limit: int = SHORT) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _turned(session: Session, capture: Capture) -> bool:
    """Whether this capture's verdict is news: altered and moved always are, deleted only the first time."""
    if capture.verdict != "deleted":
        return True
    before = session.scalar(
        select(Capture.verdict)
        .where(Capture.source_id == capture.source_id, Capture.id < capture.id, Capture.verdict.is_not(None),
               Capture.verdict != "unreachable")
        .order_by(Capture.id.desc())
        .limit(1)
    )
    return before != "deleted"


def build_digest(session: Session, run_id: int) -> Digest | None:
    """The digest for one run, or None when nothing cited changed."""
    run = session.get(Run, run_id)
    if run is None:
        return None
    captures = list(session.scalars(
        select(Capture).where(Capture.run_id == run_id, Capture.verdict.in_(CHANGE_STATES)).order_by(Capture.id)
    ))
    changed = {c.source_id: c for c in captures if _turned(session, c)}
    missing: dict[int, list[dict]] = {}
    for finding in plugins.findings(session, run_id):
        if finding.get("kind") == "quote_missing":
            missing.setdefault(finding["source_id"], []).append(finding)
    ids = sorted(set(changed) | set(missing))
    if not ids:
        return None
    cited = plugins.claims_for_sources(session, ids)
    if cited is not None:
        ids = [i for i in ids if cited.get(i) or missing.get(i)]
    if not ids:
        return None
    sources = {s.id: s for s in session.scalars(select(Source).where(Source.id.in_(ids)))}
    changes = []
    for source_id in ids:
        source, capture = sources[source_id], changed.get(source_id)
        changes.append(SourceChange(
            source_id=source_id,
            url=source.url,
            title=source.title,
            state=capture.verdict if capture else source.state,
            reason=capture.verdict_reason if capture else "a quoted passage is no longer on the page",
            final_url=(capture.final_url if capture else None) or source.final_url,
            capture_id=capture.id if capture else (missing[source_id][0].get("capture_id")),
            cited_by=(cited or {}).get(source_id, []),
            quotes_missing=missing.get(source_id, []),
        ))
    return Digest(run_id=run_id, run_started=dates.when(run.started_at), changes=changes)


def channels(config: NotifyConfig) -> list[str]:
    """The channels the configuration turns on: "webhook", "email"."""
    names = []
    if config.webhook_url:
        names.append("webhook")
    if config.smtp_host and config.mail_to:
        names.append("email")
    return names


def post_webhook(config: NotifyConfig, payload: dict) -> None:
    """POST `payload` as JSON to the incoming webhook; raises on a network error or a non-2xx answer."""
    response = httpx.post(config.webhook_url, json=payload, timeout=config.timeout,
                          headers={"User-Agent": f"{TOOL_NAME}/{__version__}"})
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"the webhook answered HTTP {response.status_code}: {_short(response.text, 200)}")


def send_mail(config: NotifyConfig, subject: str, body: str) -> None:
    """Send a plain-text UTF-8 mail to every `mail_to` address; raises on any SMTP failure."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config.mail_from or f"{TOOL_NAME}@localhost"
    message["To"] = ", ".join(config.mail_to)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain="source-archiver")
    message.set_content(body)
    server: smtplib.SMTP
    if config.smtp_ssl:
        server = smtplib.SMTP_SSL(config.smtp_host, config.smtp_port, timeout=config.timeout,
                                  context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.timeout)
    with server:
        if config.smtp_starttls:
            server.starttls(context=ssl.create_default_context())
        if config.smtp_user:
            server.login(config.smtp_user, config.smtp_password)
        server.send_message(message)


def _describe_error(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "no answer from the webhook in time"
    if isinstance(exc, httpx.HTTPError):
        return f"cannot reach the webhook: {exc}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "the mail server refused the login (check smtp_user and smtp_password)"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"the mail server refused the recipients: {', '.join(exc.recipients)}"
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        return f"mail server {exc.__class__.__name__}: {exc}"
    return str(exc)


def _with_retries(config: NotifyConfig, channel: str, send) -> Delivery:
    attempts = max(0, config.retries) + 1
    error = None
    for attempt in range(1, attempts + 1):
        try:
            send()
            return Delivery(channel, True, attempt)
        except Exception as exc:  # a failing channel is reported, never raised
            error = scrub(_describe_error(exc))
            log.warning("%s: attempt %d of %d failed: %s", channel, attempt, attempts, error)
            if attempt < attempts:
                time.sleep(config.retry_delay)
    return Delivery(channel, False, attempts, error)


def deliver(config: NotifyConfig, subject: str, text: str, payload: dict) -> list[Delivery]:
    """Send one message to every configured channel, each with retries; never raises."""
    deliveries = []
    if "webhook" in channels(config):
        deliveries.append(_with_retries(config, "webhook", lambda: post_webhook(config, payload)))
    if "email" in channels(config):
        deliveries.append(_with_retries(config, "email", lambda: send_mail(config, subject, text)))
    return deliveries


def send_digest(config: NotifyConfig, digest: Digest) -> list[Delivery]:
    """Send one run's digest to every configured channel; never raises."""
    return deliver(config, f"[{TOOL_NAME}] {digest.title()}", digest.text(), digest.as_json())


def _record(session_factory: sessionmaker, run_id: int, deliveries: list[Delivery]) -> None:
    failed = [d for d in deliveries if not d.ok]
    if not failed:
        return
    note = "; ".join(f"digest not delivered by {d.channel} after {d.attempts} attempts: {d.error}" for d in failed)
    with session_factory.begin() as session:
        run = session.get(Run, run_id)
        if run is not None:
            run.error = f"{run.error}; {note}" if run.error else note


def after_pass(config: NotifyConfig, session_factory: sessionmaker, run_id: int) -> list[Delivery]:
    """Send the run's digest when something cited changed and a channel is configured; never raises.

    Failed deliveries are written to the run's `error`, so `archiver runs` shows them.
    """
    if not channels(config):
        return []
    try:
        with session_factory() as session:
            digest = build_digest(session, run_id)
    except Exception:
        log.exception("cannot build the digest for run %s", run_id)
        return []
    if digest is None:
        log.info("run %s: no cited source changed, no digest sent", run_id)
        return []
    deliveries = send_digest(config, digest)
    for d in deliveries:
        if d.ok:
            log.info("run %s: digest delivered by %s", run_id, d.channel)
        else:
            log.error("run %s: digest not delivered by %s: %s", run_id, d.channel, d.error)
    try:
        _record(session_factory, run_id, deliveries)
    except Exception:
        log.exception("cannot record the digest delivery on run %s", run_id)
    return deliveries


def send_test(config: NotifyConfig) -> list[Delivery]:
    """Send a short test message to every configured channel, so settings can be checked at once."""
    text = (f"{TOOL_NAME}: test message. Notifications work: after a pass in which a cited source is "
            "altered, moved or deleted, or a quote goes missing, a digest like this one arrives here.")
    payload = {"text": text, "title": "test message", "test": True, "claims": [], "sources": []}
    return deliver(config, f"[{TOOL_NAME}] test message", text, payload)
