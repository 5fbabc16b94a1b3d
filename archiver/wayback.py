"""The Wayback Machine client: Save Page Now (anonymous and SPN2), CDX look-ups, availability.

The submission queue is in `archiver.wayback_queue`, recovery of lost pages in
`archiver.recover`.

Which client does what, and why:
- anonymous Save Page Now (GET save_url/<url>) and the availability API go through waybackpy,
  its endpoint attributes pointed at the configured URLs; its own retries are switched off
  (they are mounted for https only and would hide failures from our back-off) and, since
  waybackpy sets no timeout, each call runs under a deadline;
- Save Page Now 2 (POST with S3 keys, job status polling) uses httpx: waybackpy 3 has no SPN2;
- the CDX server uses httpx: waybackpy's CDX client never looks at the HTTP status, so a 429
  or 503 would read as "no copies", and recovery would wrongly report a page as never archived;
- the raw replay is fetched with `archiver.fetch.Fetcher`, with the limits of a live capture.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import requests
from waybackpy import WaybackMachineAvailabilityAPI, WaybackMachineSaveAPI
from waybackpy import exceptions as wbp

from archiver import TOOL_NAME, __version__
from archiver.config import WaybackConfig

log = logging.getLogger(__name__)

USER_AGENT = f"{TOOL_NAME}/{__version__} (archives the web pages cited in research)"
CDX_FIELDS = ("timestamp", "original", "mimetype", "statuscode", "digest", "length")
TAKEOVER_TOLERANCE = timedelta(seconds=60)

_MEMENTO = re.compile(r"/web/(\d{14})(?:[a-z]{2}_)?/(.+)$")
_WATCH_JOB = re.compile(r"""watchJob\(\s*["']([^"']+)["']""")

RATE_LIMIT_ERRORS = {"error:user-session-limit"}
QUOTA_ERRORS = {"error:bandwidth-limit-exceeded", "error:max-daily-bandwidth-from-ip"}
PERMANENT_ERRORS = {
    "error:blocked", "error:blocked-url", "error:blocked-client-ip", "error:invalid-url-syntax",
    "error:invalid-host-resolution", "error:method-not-allowed", "error:filesize-limit",
    "error:ftp-access-denied", "error:no-access", "error:not-found", "error:unauthorized",
    "error:not-implemented", "error:http-version-not-supported", "error:network-authentication-required",
    "error:too-many-redirects",
}


class WaybackError(Exception):
    """A look-up or fetch from the Wayback Machine failed; the message says why in plain words."""


class _Deadline(Exception):
    pass


def _with_deadline(call: Callable[[], object], seconds: float) -> object:
    """Run `call` (which has no timeout of its own) in a helper thread; give up after `seconds`.

    On time-out the thread is left to finish in the background: waybackpy's requests session
    closes when the server finally answers or drops the connection.
    """
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="wayback-call", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise _Deadline()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def parse_timestamp(value: str) -> datetime:
    """A Wayback timestamp (1 to 14 digits) as an aware UTC datetime."""
    digits = value.ljust(14, "0")
    month = digits[4:6] if digits[4:6] != "00" else "01"
    day = digits[6:8] if digits[6:8] != "00" else "01"
    return datetime.strptime(digits[:4] + month + day + digits[8:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def parse_memento(url: str | None) -> tuple[str, str] | None:
    """(timestamp, original URL) from a Wayback replay URL or path, or None."""
    if not url:
        return None
    match = _MEMENTO.search(url)
    if not match:
        return None
    original = re.sub(r"^(https?):/(?!/)", r"\1://", match.group(2))
    return match.group(1), original


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number of seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def parse_duration(text_value: str) -> timedelta | None:
    """SPN2's if_not_archived_within syntax ("30d", "5h 20m", "45m", "3600") as a timedelta."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([dhms]?)", text_value or "")
    seconds = sum(float(n) * units[u or "s"] for n, u in parts)
    return timedelta(seconds=seconds) if seconds else None


@dataclass
class Snapshot:
    """One copy the Wayback Machine holds."""

    timestamp: str
    original: str
    mimetype: str | None = None
    status: int | None = None
    digest: str | None = None
    length: int | None = None
    replay_url: str = ""
    raw_url: str = ""

    @property
    def archived_at(self) -> datetime:
        return parse_timestamp(self.timestamp)

    def as_json(self) -> dict:
        return {
            "timestamp": self.timestamp,
            "archived_at": self.archived_at.isoformat(),
            "original": self.original,
            "status": self.status,
            "mimetype": self.mimetype,
            "digest": self.digest,
            "length": self.length,
            "replay_url": self.replay_url,
            "raw_url": self.raw_url,
        }


@dataclass
class SaveAnswer:
    """What one save request, or one status poll, told us.

    outcome: "saved" (a copy exists: timestamp, original), "accepted" (an SPN2 job to poll),
    "pending" (still working, or the status endpoint could not answer this time), "rate_limited"
    (slow down everything; not the URL's fault), "retry" (a failure worth another attempt),
    "failed" (will not work for this URL), "daily_cap" (this URL's captures for today are used
    up), "refused" (our keys or endpoints are wrong: stop and tell the researcher).
    """

    outcome: str
    message: str = ""
    timestamp: str | None = None
    original: str | None = None
    job_id: str | None = None
    retry_after: float | None = None
    outage: bool = False


class WaybackClient:
    """Talks to the Wayback Machine at the endpoints in a WaybackConfig."""

    def __init__(self, config: WaybackConfig, *, user_agent: str = USER_AGENT) -> None:
        self.config = config
        self.user_agent = user_agent
        self.http = httpx.Client(
            timeout=httpx.Timeout(config.timeout, connect=min(config.timeout, 30.0)),
            headers={"User-Agent": user_agent},
            follow_redirects=False,
        )

    def __enter__(self) -> WaybackClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    @property
    def authenticated(self) -> bool:
        return bool(self.config.access_key and self.config.secret_key)

    def replay(self, timestamp: str, original: str, *, raw: bool = False) -> str:
        """The replay URL of a copy; `raw` gives the id_ form (the archived bytes, no toolbar)."""
        return f"{self.config.replay_url.rstrip('/')}/{timestamp}{'id_' if raw else ''}/{original}"

    # --- saving -----------------------------------------------------------------------

    def save(self, url: str) -> SaveAnswer:
        """Ask Save Page Now to archive `url`: SPN2 with the configured keys, else anonymously."""
        return self._save_spn2(url) if self.authenticated else self._save_anonymous(url)

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"LOW {self.config.access_key}:{self.config.secret_key}", "Accept": "application/json"}

    def _save_spn2(self, url: str) -> SaveAnswer:
        form = {"url": url, "skip_first_archive": "1"}
        if self.config.if_not_archived_within:
            form["if_not_archived_within"] = self.config.if_not_archived_within
        try:
            response = self.http.post(self.config.save_url, data=form, headers=self._auth())
        except httpx.TimeoutException:
            return SaveAnswer("retry", f"Save Page Now did not answer within {self.config.timeout:g} s", outage=True)
        except httpx.HTTPError as exc:
            return SaveAnswer("retry", f"cannot reach Save Page Now at {self.config.save_url}: {exc}", outage=True)
        problem = _http_problem(response.status_code, response.headers.get("Retry-After"), response.text,
                                "Save Page Now", self.config.save_url, authenticated=True)
        if problem is not None:
            return problem
        try:
            data = response.json()
        except ValueError:
            return SaveAnswer("retry", f"Save Page Now answered HTTP {response.status_code} with something other than JSON")
        return _spn_answer(data)

    def _save_anonymous(self, url: str) -> SaveAnswer:
        api = WaybackMachineSaveAPI(url, user_agent=self.user_agent, max_tries=1)
        api.request_url = f"{self.config.save_url.rstrip('/')}/{api.url}"
        api.total_save_retries = 0
        try:
            _with_deadline(api.get_save_request_headers, self.config.timeout)
        except wbp.TooManyRequestsError:
            seconds = _retry_after(api.headers.get("Retry-After") if api.headers else None)
            return SaveAnswer("rate_limited", "Save Page Now asked us to slow down (HTTP 429)", retry_after=seconds)
        except wbp.WaybackError:
            return SaveAnswer("rate_limited", "Save Page Now has too many sessions open from this address (HTTP 509)")
        except _Deadline:
            return SaveAnswer("retry", f"Save Page Now did not answer within {self.config.timeout:g} s", outage=True)
        except requests.RequestException as exc:
            return SaveAnswer("retry", f"cannot reach Save Page Now at {self.config.save_url}: {exc}", outage=True)
        status = api.status_code or 0
        body = api.response.text if api.response is not None else ""
        problem = _http_problem(status, api.headers.get("Retry-After") if api.headers else None, body,
                                "Save Page Now", self.config.save_url, authenticated=False)
        if problem is not None:
            return problem
        found = _archived_location(api.headers or {}, api.response_url)
        if found is not None:
            return SaveAnswer("saved", timestamp=found[0], original=found[1])
        job = _WATCH_JOB.search(body)
        if job:
            return SaveAnswer("accepted", job_id=job.group(1))
        try:
            return _spn_answer(json.loads(body))
        except ValueError:
            return SaveAnswer("retry", f"Save Page Now answered HTTP {status} without saying where the copy is")

    def status(self, job_id: str) -> SaveAnswer:
        """Poll a Save Page Now job. Problems of the status endpoint itself come back as "pending"."""
        headers = self._auth() if self.authenticated else {"Accept": "application/json"}
        try:
            response = self.http.get(f"{self.config.status_url.rstrip('/')}/{job_id}", headers=headers)
        except httpx.HTTPError as exc:
            return SaveAnswer("pending", f"could not ask for the status of job {job_id}: {exc or type(exc).__name__}")
        if response.status_code == 429:
            return SaveAnswer("pending", "the status endpoint asked us to slow down (HTTP 429)",
                              retry_after=_retry_after(response.headers.get("Retry-After")))
        if response.status_code >= 500:
            return SaveAnswer("pending", f"the status endpoint answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            return SaveAnswer("pending", f"the status endpoint answered HTTP {response.status_code} without JSON")
        if response.status_code == 404 or data.get("status_ext") == "error:job-not-found":
            return SaveAnswer("retry", f"the Wayback Machine no longer knows job {job_id}; it will be submitted again")
        answer = _spn_answer(data)
        if answer.outcome == "accepted":
            return SaveAnswer("pending")
        return answer

    # --- looking up -------------------------------------------------------------------

    def snapshots(
        self,
        url: str,
        *,
        since: str | None = None,
        until: str | None = None,
        closest: str | None = None,
        limit: int | None = None,
        ok_only: bool = False,
    ) -> list[Snapshot]:
        """Copies of `url` from the CDX server, oldest first (closest first with `closest`).

        since/until: Wayback timestamps (1-14 digits, inclusive); limit < 0 gives the last N;
        ok_only: only copies of pages that answered 200. Raises WaybackError.
        """
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("url", url), ("output", "json"), ("fl", ",".join(CDX_FIELDS))]
        if since:
            params.append(("from", since))
        if until:
            params.append(("to", until))
        if ok_only:
            params.append(("filter", "statuscode:200"))
        if closest:
            params += [("closest", closest), ("sort", "closest")]
        if limit is not None:
            params.append(("limit", str(limit)))
        try:
            response = self.http.get(self.config.cdx_url, params=params)
        except httpx.TimeoutException:
            raise WaybackError(f"the Wayback Machine's CDX server did not answer within {self.config.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise WaybackError(f"cannot reach the Wayback Machine's CDX server at {self.config.cdx_url}: {exc}") from None
        if response.status_code == 429:
            wait = _retry_after(response.headers.get("Retry-After"))
            raise WaybackError("the Wayback Machine's CDX server asked us to slow down (HTTP 429)"
                               + (f"; try again in {wait:.0f} s" if wait else "; try again in a few minutes"))
        if response.status_code != 200:
            raise WaybackError(f"the Wayback Machine's CDX server answered HTTP {response.status_code}")
        try:
            rows = response.json() if response.content.strip() else []
        except ValueError:
            raise WaybackError("the Wayback Machine's CDX server answered something other than JSON") from None
        if not rows:
            return []
        header, found = rows[0], []
        for row in rows[1:]:
            if len(row) != len(header):
                continue
            item = dict(zip(header, row))
            timestamp, original = item.get("timestamp"), item.get("original")
            if not timestamp or not original:
                continue
            found.append(Snapshot(
                timestamp=timestamp,
                original=original,
                mimetype=item.get("mimetype"),
                status=int(item["statuscode"]) if str(item.get("statuscode", "")).isdigit() else None,
                digest=item.get("digest"),
                length=int(item["length"]) if str(item.get("length", "")).isdigit() else None,
                replay_url=self.replay(timestamp, original),
                raw_url=self.replay(timestamp, original, raw=True),
            ))
        return found

    def newest(self, url: str) -> Snapshot | None:
        """The newest copy of `url` according to the availability API (waybackpy), or None."""
        api = WaybackMachineAvailabilityAPI(url, user_agent=self.user_agent, max_tries=1)
        api.endpoint = self.config.availability_url
        api.api_call_time_gap = 0
        try:
            _with_deadline(api.newest, self.config.timeout)
        except _Deadline:
            raise WaybackError(f"the availability API did not answer within {self.config.timeout:g} s") from None
        except wbp.InvalidJSONInAvailabilityAPIResponse:
            status = api.response.status_code if api.response is not None else "?"
            raise WaybackError(f"the availability API answered HTTP {status} without JSON") from None
        except requests.RequestException as exc:
            raise WaybackError(f"cannot reach the availability API at {self.config.availability_url}: {exc}") from None
        if api.response is None or api.response.status_code != 200:
            raise WaybackError(f"the availability API answered HTTP {api.response.status_code if api.response else '?'}")
        closest = ((api.json or {}).get("archived_snapshots") or {}).get("closest") or {}
        timestamp = closest.get("timestamp")
        if not timestamp or closest.get("available") is False:
            return None
        original = (parse_memento(closest.get("url")) or (timestamp, url))[1]
        status = str(closest.get("status", ""))
        return Snapshot(timestamp=timestamp, original=original, status=int(status) if status.isdigit() else None,
                        replay_url=self.replay(timestamp, original), raw_url=self.replay(timestamp, original, raw=True))


def _http_problem(status: int, retry_after: str | None, body: str, service: str, endpoint: str,
                  *, authenticated: bool) -> SaveAnswer | None:
    """The SaveAnswer for an HTTP status that is not a normal answer, else None."""
    if status == 429:
        return SaveAnswer("rate_limited", f"{service} asked us to slow down (HTTP 429)", retry_after=_retry_after(retry_after))
    if status == 509:
        return SaveAnswer("rate_limited", f"{service} has too many sessions open for us (HTTP 509)")
    if status in (401, 403) and authenticated:
        return SaveAnswer("refused", f"{service} refused the S3 keys (HTTP {status}): check [wayback] access_key and "
                                     f"secret_key (https://archive.org/account/s3.php){_said(body)}")
    if status in (401, 403):
        return SaveAnswer("refused", f"{service} refused an anonymous save (HTTP {status}): set [wayback] access_key "
                                     f"and secret_key (https://archive.org/account/s3.php){_said(body)}")
    if status in (404, 405):
        return SaveAnswer("refused", f"{endpoint} answered HTTP {status}: is [wayback] save_url right?")
    if status >= 500:
        return SaveAnswer("retry", f"{service} is failing (HTTP {status}){_said(body)}", outage=True)
    if status >= 400:
        return SaveAnswer("failed", f"{service} refused this URL (HTTP {status}){_said(body)}")
    return None


def _said(body: str) -> str:
    try:
        message = json.loads(body).get("message")
    except (ValueError, AttributeError):
        message = None
    return f": {message}" if message else ""


def _spn_answer(data) -> SaveAnswer:
    """Read an SPN2 answer (capture request or status) into a SaveAnswer."""
    if not isinstance(data, dict):
        return SaveAnswer("retry", f"Save Page Now gave an answer we do not understand: {str(data)[:200]}")
    status = data.get("status")
    message = data.get("message") or ""
    if status == "success" or (status is None and data.get("timestamp") and data.get("original_url")):
        if not data.get("timestamp"):
            return SaveAnswer("retry", "Save Page Now reported success without a timestamp")
        return SaveAnswer("saved", message, timestamp=str(data["timestamp"]),
                          original=data.get("original_url") or data.get("url"))
    if status == "pending":
        return SaveAnswer("pending", message)
    if status == "error":
        ext = data.get("status_ext") or "error:unknown"
        said = f"{ext}: {message}" if message else ext
        if ext in RATE_LIMIT_ERRORS:
            return SaveAnswer("rate_limited", f"Save Page Now: {said}")
        if ext in QUOTA_ERRORS:
            return SaveAnswer("rate_limited", f"Save Page Now: {said}", retry_after=6 * 3600.0)
        if ext == "error:too-many-daily-captures":
            return SaveAnswer("daily_cap", f"Save Page Now: {said}")
        if ext in PERMANENT_ERRORS:
            return SaveAnswer("failed", f"the Wayback Machine could not archive the page: {said}")
        return SaveAnswer("retry", f"Save Page Now: {said}")
    if data.get("job_id"):
        return SaveAnswer("accepted", message, job_id=str(data["job_id"]))
    return SaveAnswer("retry", f"Save Page Now gave an answer we do not understand: {json.dumps(data)[:200]}")


def _archived_location(headers, final_url: str | None) -> tuple[str, str] | None:
    """Where an anonymous save put the copy: Content-Location, a memento Link, or the URL we ended on."""
    found = parse_memento(headers.get("Content-Location"))
    if found:
        return found
    for target, rel in re.findall(r'<([^>]+)>\s*;[^,<]*?rel="([^"]+)"', headers.get("Link") or ""):
        if rel.strip() == "memento" and parse_memento(target):
            return parse_memento(target)
    return parse_memento(headers.get("Location")) or parse_memento(final_url)
