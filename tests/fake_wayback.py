"""A fake Wayback Machine on loopback: a real threaded HTTP server speaking the parts of the
real protocol the archiver uses, so the real client code runs against it unchanged.

Endpoints (paths as on web.archive.org and archive.org, all on one host):
- GET  /save/<url>            anonymous Save Page Now: 200 with Content-Location and a memento
                              Link header, or a redirect to the new copy (`anonymous_style`);
- POST /save                  Save Page Now 2: with `Authorization: LOW key:secret` it answers
                              {"url", "job_id"} (or an error object with status_ext); without
                              keys, the HTML progress page with spn.watchJob("<job id>");
- GET  /save/status/<job_id>  {"status": "pending"}, then "success" with timestamp and
                              original_url, or "error" with status_ext and message;
- GET  /cdx/search/cdx        the CDX server: url, matchType, from, to, limit (negative: the
                              last N), filter ([!]field:regex, repeatable), fl, closest with
                              sort=closest, output=json (header row first) or plain lines;
- GET  /wayback/available     the availability API: archived_snapshots.closest;
- GET  /web/<ts>[id_]/<url>   replay: the archived bytes (id_: raw, else with a toolbar), or a
                              302 to the nearest capture's exact timestamp.

A save really fetches the page (as the real service does), so a test site's current content
becomes the archived copy. Failures are programmable per endpoint group ("save", "status",
"cdx", "available", "replay"): status codes with Retry-After, slow answers. Counters tell
tests what happened: `save_requests` (every save request received) and `captures` (copies
actually made) per URL.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from urllib.parse import parse_qs, unquote, urlsplit

CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")


def wayback_timestamp(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y%m%d%H%M%S")


def urlkey(url: str) -> str:
    """The SURT-style key the CDX index sorts by: scheme and www. dropped, host reversed, lower case."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    try:
        ip_address(host)
    except ValueError:
        host = ",".join(reversed(re.sub(r"^www\d*\.", "", host).split(".")))
    port = parts.port
    if port and not (parts.scheme == "http" and port == 80 or parts.scheme == "https" and port == 443):
        host = f"{host}:{port}"
    path = parts.path or "/"
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    return f"{host}){path}{'?' + query if query else ''}".lower()


@dataclass
class Snapshot:
    """One archived copy."""

    timestamp: str
    original: str
    body: bytes
    status: int = 200
    mimetype: str = "text/html"
    content_type: str = "text/html; charset=utf-8"

    @property
    def digest(self) -> str:
        return base64.b32encode(hashlib.sha1(self.body).digest()).decode("ascii")

    def field(self, name: str) -> str:
        values = {
            "urlkey": urlkey(self.original),
            "timestamp": self.timestamp,
            "original": self.original,
            "mimetype": self.mimetype,
            "statuscode": str(self.status),
            "digest": self.digest,
            "length": str(len(self.body)),
        }
        return values[name]


@dataclass
class SpnJob:
    """A Save Page Now 2 job: pending until `ready_at`, then success or error."""

    job_id: str
    url: str
    ready_at: float
    snapshot: Snapshot | None = None
    status_ext: str | None = None
    message: str | None = None
    published: bool = False


@dataclass
class Rule:
    """A programmed answer for the next `count` requests to an endpoint group."""

    status: int | None = None
    retry_after: str | None = None
    delay: float = 0.0
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    count: int = 1


@dataclass
class SpnError:
    status_ext: str
    message: str
    at_submit: bool = False
    count: int = 1


@dataclass
class FakeWayback:
    """The fake service. `start()` it, point a WaybackConfig at it with `configure(cfg)`."""

    access_key: str = "test-access"
    secret_key: str = "test-secret"
    anonymous_style: str = "headers"
    job_seconds: float = 0.0
    daily_cap: int | None = None
    snapshots: dict[str, list[Snapshot]] = field(default_factory=dict)
    jobs: dict[str, SpnJob] = field(default_factory=dict)
    rules: dict[str, list[Rule]] = field(default_factory=dict)
    spn_errors: dict[str, list[SpnError]] = field(default_factory=dict)
    save_requests: Counter = field(default_factory=Counter)
    captures: Counter = field(default_factory=Counter)
    requests: list[dict] = field(default_factory=list)
    save_options: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> FakeWayback:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self, "GET")

            def do_POST(self):
                fake._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def base_url(self) -> str:
        assert self.server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def configure(self, wayback, *, keys: bool = False) -> None:
        """Point a WaybackConfig at this fake (with the fake's S3 keys when `keys`)."""
        base = self.base_url
        wayback.enabled = True
        wayback.save_url = f"{base}/save"
        wayback.status_url = f"{base}/save/status"
        wayback.cdx_url = f"{base}/cdx/search/cdx"
        wayback.availability_url = f"{base}/wayback/available"
        wayback.replay_url = f"{base}/web"
        wayback.access_key = self.access_key if keys else ""
        wayback.secret_key = self.secret_key if keys else ""

    def config_toml(self) -> str:
        """The [wayback] section of a config.toml pointing at this fake, paced and backed off for tests."""
        base = self.base_url
        return (f'save_url = "{base}/save"\nstatus_url = "{base}/save/status"\ncdx_url = "{base}/cdx/search/cdx"\n'
                f'availability_url = "{base}/wayback/available"\nreplay_url = "{base}/web"\n'
                "max_per_minute = 6000.0\nbackoff_base = 0.05\nbackoff_max = 0.5\ntimeout = 5.0\n")

    # --- programming ------------------------------------------------------------------

    def add_snapshot(self, url: str, body: bytes | str, timestamp: str, *, status: int = 200,
                     content_type: str = "text/html; charset=utf-8") -> Snapshot:
        """Seed the archive with a copy of `url` taken at `timestamp` (YYYYMMDDhhmmss)."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        snap = Snapshot(timestamp, url, body, status, content_type.split(";")[0].strip(), content_type)
        with self.lock:
            self.snapshots.setdefault(urlkey(url), []).append(snap)
            self.snapshots[urlkey(url)].sort(key=lambda s: s.timestamp)
        return snap

    def fail(self, endpoint: str, status: int = 503, *, count: int = 1, retry_after: str | float | None = None,
             delay: float = 0.0, body: bytes | str = b"") -> None:
        """Answer the next `count` requests to `endpoint` with `status` (after `delay` seconds)."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        rule = Rule(status, None if retry_after is None else str(retry_after), delay, body or
                    f"<html><body><h1>{status}</h1></body></html>".encode(), count=count)
        with self.lock:
            self.rules.setdefault(endpoint, []).append(rule)

    def slow(self, endpoint: str, seconds: float, *, count: int = 1) -> None:
        """Answer the next `count` requests to `endpoint` normally, but only after `seconds`."""
        with self.lock:
            self.rules.setdefault(endpoint, []).append(Rule(delay=seconds, count=count))

    def spn_error(self, url: str, status_ext: str, message: str, *, at_submit: bool = False, count: int = 1) -> None:
        """Make the next save of `url` end in an SPN2 error (in the job status, or at once when `at_submit`)."""
        with self.lock:
            self.spn_errors.setdefault(url, []).append(SpnError(status_ext, message, at_submit, count))

    def snapshots_of(self, url: str) -> list[Snapshot]:
        with self.lock:
            return list(self.snapshots.get(urlkey(url), []))

    def times_of(self, endpoint: str) -> list[float]:
        """When requests to `endpoint` arrived (time.monotonic), in order."""
        with self.lock:
            return [r["time"] for r in self.requests if r["endpoint"] == endpoint]

    # --- request handling -------------------------------------------------------------

    def _endpoint(self, path: str) -> str:
        if path.startswith("/save/status"):
            return "status"
        if path.startswith("/save"):
            return "save"
        if path.startswith("/cdx/"):
            return "cdx"
        if path.startswith("/wayback/available"):
            return "available"
        if path.startswith("/web/"):
            return "replay"
        return "other"

    def _take_rule(self, endpoint: str) -> Rule | None:
        with self.lock:
            rules = self.rules.get(endpoint) or []
            if not rules:
                return None
            rule = rules[0]
            rule.count -= 1
            if rule.count <= 0:
                rules.pop(0)
            return rule

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        endpoint = self._endpoint(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self.lock:
            self.requests.append({"time": time.monotonic(), "endpoint": endpoint, "method": method,
                                  "path": handler.path, "headers": dict(handler.headers)})
        self._publish_ready()
        if endpoint == "save":
            with self.lock:
                self.save_requests[self._save_target(handler.path, body) or "?"] += 1
        rule = self._take_rule(endpoint)
        if rule is not None and rule.delay:
            time.sleep(rule.delay)
        if rule is not None and rule.status is not None:
            headers = {"Retry-After": rule.retry_after} if rule.retry_after else {}
            return self._send(handler, rule.status, rule.body, rule.content_type, headers)
        routes = {
            ("save", "GET"): self._save_get,
            ("save", "POST"): self._save_post,
            ("status", "GET"): self._status,
            ("cdx", "GET"): self._cdx,
            ("available", "GET"): self._available,
            ("replay", "GET"): self._replay,
        }
        route = routes.get((endpoint, method))
        if route is None:
            return self._send(handler, 404, b"not found", "text/plain")
        try:
            route(handler, body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, handler, status: int, body: bytes, content_type: str | None = "text/html; charset=utf-8",
              headers: dict | None = None) -> None:
        try:
            handler.send_response(status)
            if content_type:
                handler.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _json(self, handler, data, status: int = 200) -> None:
        self._send(handler, status, json.dumps(data).encode("utf-8"), "application/json")

    # --- saving -----------------------------------------------------------------------

    @staticmethod
    def _save_target(path: str, body: bytes) -> str | None:
        rest = path[len("/save"):].lstrip("/")
        if rest:
            return _repair_url(unquote(rest))
        form = parse_qs(body.decode("utf-8", "replace"))
        return (form.get("url") or [None])[0]

    def _capture(self, url: str) -> tuple[Snapshot | None, str | None, str | None]:
        """Fetch `url` as Save Page Now would: (snapshot, None, None) or (None, status_ext, message)."""
        request = urllib.request.Request(url, headers={"User-Agent": "Mozilla/5.0 (compatible; archive.org_bot)"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=5) as response:
                body = response.read()
                content_type = response.headers.get("Content-Type") or "application/octet-stream"
                status = response.status
        except urllib.error.HTTPError as exc:
            codes = {404: "error:not-found", 403: "error:no-access", 410: "error:not-found"}
            return None, codes.get(exc.code, "error:bad-gateway"), f"Target URL answered HTTP {exc.code}."
        except (urllib.error.URLError, OSError) as exc:
            return None, "error:invalid-host-resolution", f"Couldn't reach {url}: {exc}"
        with self.lock:
            if self.daily_cap is not None and self.captures[url] >= self.daily_cap:
                return None, "error:too-many-daily-captures", (
                    f"This URL has been already captured {self.captures[url]} times today. Please try again tomorrow.")
            snap = Snapshot(wayback_timestamp(time.time()), url, body, status,
                            content_type.split(";")[0].strip(), content_type)
            self.captures[url] += 1
        return snap, None, None

    def _publish(self, snap: Snapshot) -> None:
        with self.lock:
            self.snapshots.setdefault(urlkey(snap.original), []).append(snap)
            self.snapshots[urlkey(snap.original)].sort(key=lambda s: s.timestamp)

    def _publish_ready(self) -> None:
        """Jobs finish on the service's side whether or not anyone asks for their status."""
        with self.lock:
            ready = [j for j in self.jobs.values()
                     if not j.published and j.snapshot is not None and time.monotonic() >= j.ready_at]
            for job in ready:
                job.published = True
        for job in ready:
            self._publish(job.snapshot)

    def _take_spn_error(self, url: str, at_submit: bool) -> SpnError | None:
        with self.lock:
            errors = self.spn_errors.get(url) or []
            for error in errors:
                if error.at_submit == at_submit:
                    error.count -= 1
                    if error.count <= 0:
                        errors.remove(error)
                    return error
        return None

    def _save_get(self, handler, _body: bytes) -> None:
        url = self._save_target(handler.path, b"")
        if not url:
            return self._send(handler, 400, b"<p>Missing URL</p>")
        if self.anonymous_style == "job":
            return self._anonymous_job_page(handler, url)
        snap, status_ext, message = self._capture(url)
        if snap is None:
            return self._send(handler, 520, f"<h2>Job failed</h2><p>{message} ({status_ext})</p>".encode())
        self._publish(snap)
        replay = f"{self.base_url}/web/{snap.timestamp}/{url}"
        if self.anonymous_style == "redirect":
            return self._send(handler, 302, b"", None, {"Location": replay})
        moment = datetime.strptime(snap.timestamp, "%Y%m%d%H%M%S").strftime("%a, %d %b %Y %H:%M:%S GMT")
        link = (f'<{url}>; rel="original", '
                f'<https://web.archive.org/web/timemap/link/{url}>; rel="timemap"; type="application/link-format", '
                f'<https://web.archive.org/web/{snap.timestamp}/{url}>; rel="memento"; datetime="{moment}"')
        headers = {"Content-Location": f"/web/{snap.timestamp}/{url}", "Link": link,
                   "X-Archive-Orig-Content-Type": snap.content_type}
        self._send(handler, 200, snap.body, snap.content_type, headers)

    def _anonymous_job_page(self, handler, url: str) -> None:
        job = self._new_job(url)
        page = (f'<html><body><h2 id="spn-title">Saving page {url}</h2>\n<script>\n'
                f'spn.watchJob("{job.job_id}", "/_static/",6000);\n</script></body></html>')
        self._send(handler, 200, page.encode("utf-8"))

    def _new_job(self, url: str, existing: Snapshot | None = None) -> SpnJob:
        job = SpnJob(job_id=f"spn2-{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}", url=url,
                     ready_at=time.monotonic() + self.job_seconds)
        error = self._take_spn_error(url, at_submit=False)
        if existing is not None:
            job.snapshot, job.published = existing, True
            job.message = "The same snapshot had been made recently."
        elif error is not None:
            job.status_ext, job.message = error.status_ext, error.message
        else:
            snap, status_ext, message = self._capture(url)
            job.snapshot, job.status_ext, job.message = snap, status_ext, message
        with self.lock:
            self.jobs[job.job_id] = job
        if job.snapshot is not None and not job.published and self.job_seconds <= 0:
            self._publish(job.snapshot)
            job.published = True
        return job

    def _save_post(self, handler, body: bytes) -> None:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        url = self._save_target(handler.path, body)
        auth = handler.headers.get("Authorization") or ""
        if not auth:
            if not url:
                return self._send(handler, 400, b"<p>Missing URL</p>")
            return self._anonymous_job_page(handler, url)
        if auth != f"LOW {self.access_key}:{self.secret_key}":
            return self._json(handler, {"status": "error", "status_ext": "error:unauthorized",
                                        "message": "You need to be logged in to use Save Page Now."}, 401)
        if not url:
            return self._json(handler, {"status": "error", "status_ext": "error:invalid-url-syntax",
                                        "message": "Invalid URL."})
        with self.lock:
            self.save_options.append(form)
        error = self._take_spn_error(url, at_submit=True)
        if error is not None:
            return self._json(handler, {"status": "error", "status_ext": error.status_ext, "message": error.message})
        recent = self._recent_snapshot(url, form.get("if_not_archived_within"))
        if recent is None and self.daily_cap is not None and self.captures[url] >= self.daily_cap:
            return self._json(handler, {
                "status": "error", "status_ext": "error:too-many-daily-captures",
                "message": f"This URL has been already captured {self.captures[url]} times today. "
                           "Please try again tomorrow."})
        job = self._new_job(url, existing=recent)
        answer = {"url": url, "job_id": job.job_id}
        if job.message and recent is not None:
            answer["message"] = job.message
        self._json(handler, answer)

    def _recent_snapshot(self, url: str, within: str | None) -> Snapshot | None:
        seconds = _timedelta_seconds(within)
        if not seconds:
            return None
        cutoff = wayback_timestamp(time.time() - seconds)
        newest = [s for s in self.snapshots_of(url) if s.status == 200 and s.timestamp >= cutoff]
        return newest[-1] if newest else None

    def _status(self, handler, _body: bytes) -> None:
        job_id = handler.path.split("?")[0].rsplit("/", 1)[-1]
        if job_id == "user":
            with self.lock:
                processing = sum(1 for j in self.jobs.values() if time.monotonic() < j.ready_at)
            return self._json(handler, {"available": max(0, 12 - processing), "processing": processing})
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None:
            return self._json(handler, {"status": "error", "status_ext": "error:job-not-found",
                                        "message": "Job not found."}, 404)
        if time.monotonic() < job.ready_at:
            return self._json(handler, {"status": "pending", "job_id": job_id, "resources": []})
        if job.snapshot is None:
            return self._json(handler, {"status": "error", "job_id": job_id, "status_ext": job.status_ext,
                                        "message": job.message, "resources": []})
        self._json(handler, {"status": "success", "job_id": job_id, "original_url": job.snapshot.original,
                             "timestamp": job.snapshot.timestamp, "duration_sec": round(self.job_seconds, 3),
                             "resources": [job.snapshot.original], "outlinks": {}})

    # --- looking up -------------------------------------------------------------------

    def _matching(self, url: str, match_type: str) -> list[Snapshot]:
        if url.endswith("*"):
            url, match_type = url[:-1], "prefix"
        key = urlkey(url if "://" in url else f"http://{url}")
        with self.lock:
            if match_type == "prefix":
                found = [s for k, snaps in self.snapshots.items() if k.startswith(key) for s in snaps]
            elif match_type in ("host", "domain"):
                host = key.split(")")[0]
                found = [s for k, snaps in self.snapshots.items()
                         if k.split(")")[0] == host or (match_type == "domain" and k.split(")")[0].startswith(host + ","))
                         for s in snaps]
            else:
                found = list(self.snapshots.get(key, []))
        return sorted(found, key=lambda s: (s.field("urlkey"), s.timestamp))

    def _cdx(self, handler, _body: bytes) -> None:
        query = parse_qs(urlsplit(handler.path).query, keep_blank_values=True)

        def one(name, default=None):
            return (query.get(name) or [default])[0]

        url = one("url")
        if not url:
            return self._send(handler, 400, b"Missing url parameter", "text/plain")
        rows = self._matching(url, one("matchType", "exact") or "exact")
        low, high = one("from"), one("to")
        if low:
            rows = [s for s in rows if s.timestamp >= low.ljust(14, "0")]
        if high:
            rows = [s for s in rows if s.timestamp[:len(high)] <= high]
        for spec in query.get("filter", []):
            negate = spec.startswith("!")
            name, _, pattern = spec.lstrip("!").partition(":")
            if name not in CDX_FIELDS:
                return self._send(handler, 400, f"Invalid filter field {name}".encode(), "text/plain")
            rows = [s for s in rows if bool(re.fullmatch(pattern, s.field(name))) != negate]
        closest = one("closest")
        if closest and one("sort") == "closest":
            target = _epoch(closest)
            rows = sorted(rows, key=lambda s: abs(_epoch(s.timestamp) - target))
        limit = one("limit")
        if limit:
            n = int(limit)
            rows = rows[n:] if n < 0 else rows[:n]
        fields = [f for f in (one("fl") or ",".join(CDX_FIELDS)).split(",") if f]
        table = [[s.field(f) for f in fields] for s in rows]
        if one("output") == "json":
            data = [fields] + table if table else []
            return self._send(handler, 200, json.dumps(data).encode("utf-8"), "application/json")
        text = "".join(" ".join(row) + "\n" for row in table)
        self._send(handler, 200, text.encode("utf-8"), "text/plain")

    def _available(self, handler, _body: bytes) -> None:
        query = parse_qs(urlsplit(handler.path).query)
        url = (query.get("url") or [""])[0]
        timestamp = (query.get("timestamp") or [None])[0]
        answer: dict = {"url": url, "archived_snapshots": {}}
        if timestamp:
            answer["timestamp"] = timestamp
        snaps = [s for s in self._matching(url, "exact") if s.status == 200] if url else []
        if snaps:
            target = _epoch(timestamp or "99991231235959")
            best = min(snaps, key=lambda s: (abs(_epoch(s.timestamp) - target), -int(s.timestamp)))
            answer["archived_snapshots"]["closest"] = {
                "status": str(best.status), "available": True,
                "url": f"http://web.archive.org/web/{best.timestamp}/{best.original}", "timestamp": best.timestamp,
            }
        self._json(handler, answer)

    def _replay(self, handler, _body: bytes) -> None:
        match = re.match(r"^/web/(\d{1,14})([a-z]{2}_)?/(.+)$", handler.path)
        if not match:
            return self._send(handler, 404, b"<p>Wayback Machine has not archived that URL.</p>")
        timestamp, flag, url = match.group(1), match.group(2) or "", _repair_url(match.group(3))
        snaps = self._matching(url, "exact")
        if not snaps:
            return self._send(handler, 404, b"<p>Wayback Machine has not archived that URL.</p>")
        target = _epoch(timestamp)
        best = min(snaps, key=lambda s: abs(_epoch(s.timestamp) - target))
        if best.timestamp != timestamp:
            return self._send(handler, 302, b"", None,
                              {"Location": f"{self.base_url}/web/{best.timestamp}{flag}/{best.original}"})
        moment = datetime.strptime(best.timestamp, "%Y%m%d%H%M%S").strftime("%a, %d %b %Y %H:%M:%S GMT")
        headers = {"Memento-Datetime": moment, "Link": f'<{best.original}>; rel="original"'}
        body = best.body
        if flag != "id_" and best.mimetype == "text/html":
            body = re.sub(rb"(<body[^>]*>)", rb'\1<div id="wm-ipp">Wayback Machine toolbar: captured ' +
                          best.timestamp.encode() + rb"</div>", body, count=1)
        self._send(handler, best.status, body, best.content_type, headers)


def _epoch(timestamp: str) -> float:
    """Seconds since 1970 for a 1-14 digit Wayback timestamp (missing parts: the earliest moment)."""
    digits = timestamp.ljust(14, "0")[:14]
    digits = digits[:4] + (digits[4:6] if digits[4:6] != "00" else "01") + (digits[6:8] if digits[6:8] != "00" else "01") + digits[8:]
    return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()


def _repair_url(url: str) -> str:
    """Servers and proxies fold "//" to "/" inside paths; undo that for an embedded URL."""
    return re.sub(r"^(https?):/(?!/)", r"\1://", url)


def _timedelta_seconds(text: str | None) -> float:
    """SPN2's if_not_archived_within values: "30d", "5h 20m", "45m", "3600" (seconds)."""
    if not text:
        return 0.0
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([dhms]?)", text):
        total += float(number) * units.get(unit or "s", 1)
    return total
