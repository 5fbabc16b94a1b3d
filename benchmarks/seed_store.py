"""Seed a large archive quickly, for timing queries: by default 50,000 sources and 1,000,000 captures.

    python benchmarks/seed_store.py big.db [--sources 50000] [--captures-per-source 20] [--claims 2000] [--texts]

The schema comes from the project's migrations (archiver.db.open_database); the rows are
then written with plain sqlite3 `executemany` in large transactions, which is some fifty
times faster than the ORM. What goes in resembles a store after twenty nightly passes:

- sources on ~1,000 sites, Chinese and English, with their states after the last pass:
  about 90% unchanged, 5% altered, 2% deleted, 2% unreachable, 1% moved;
- 20 captures per source (one per pass, pass by pass, so a source's captures are spread over
  the table as in real life), most unchanged, ~20% of pages edited once or twice, conditional
  requests answered 304 for a fifth of the sites, deleted and unreachable ones failing in the
  last passes, all sealed into a valid hash chain (`archiver verify` passes);
- blobs shared as in the real store: one body and one text per version of a page (random
  bytes of --blob-bytes stand in for the compressed page: no query timed here reads them);
  with --texts, each text is an article of Chinese or English words instead (some 40 sentences
  drawn from a few thousand words with a Zipf law, and names planted in a known share of them:
  see SEARCH_NAMES), left to index as a store made before search existed would be: `archiver
  search --reindex` indexes it (benchmarks/search.py times both);
- claims with citations (70% with a quote), data points on a map linked to claims, a
  quote check per citation and per capture of its source (present, and missing after an edit
  for some), one claim with 300 citations, Wayback jobs (one done per source, some pending).

Prints what it wrote and how long it took.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parent.parent
sys.path.append(str(REPO))

from archiver import TOOL_NAME, __version__  # noqa: E402
from archiver.capture import capture_settings  # noqa: E402
from archiver.chain import record_hash  # noqa: E402
from archiver.config import Config  # noqa: E402
from archiver.db import open_database  # noqa: E402
from archiver.store import compress  # noqa: E402

BASE = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
CHUNK = 20_000
STATES = [("unchanged", 90), ("altered", 5), ("deleted", 2), ("unreachable", 2), ("moved", 1)]
ZH_WORDS = ["人民政府", "关于", "印发", "通知", "新疆", "职业技能", "教育培训", "中心", "项目", "合作", "协议", "签署",
            "智慧城市", "公共安全", "视频监控", "平台", "建设", "推进", "工作", "会议", "企业", "投资", "产业园"]
EN_WORDS = ["ministry", "signs", "agreement", "on", "surveillance", "cameras", "smart", "city", "project", "with",
            "company", "police", "cloud", "data", "centre", "for", "province", "contract", "new", "report"]


# Names planted in the --texts articles, with the share of sources whose texts say them.
SEARCH_NAMES = {"zh": [("海康威视", 0.005), ("大华股份", 0.0002)], "en": [("Hikvision", 0.005), ("Dahua Technology", 0.0002)]}


def _vocabulary(rng: random.Random) -> dict[str, tuple[list[str], list[float]]]:
    """Some 3,000 Chinese and 3,000 English words with Zipf cumulative weights; the benchmark's
    own words (ZH_WORDS, EN_WORDS) are the most frequent."""
    chars = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种"
             "面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本"
             "去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比"
             "或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总"
             "次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做"
             "必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权"
             "收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信"
             "马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连"
             "断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存"
             "候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严")
    rng_words = random.Random(rng.random())
    zh = list(dict.fromkeys(ZH_WORDS + ["".join(rng_words.sample(chars, 2)) for _ in range(3_500)]))[:3_000]
    syllables = ["ka", "lo", "mi", "ten", "ro", "sha", "ver", "dan", "pol", "ice", "cam", "era", "net", "work", "in",
                 "for", "ma", "tion", "sec", "ur", "ity", "gov", "ern", "ment", "tra", "de", "pro", "ject", "con", "tract"]
    en = list(dict.fromkeys(EN_WORDS + ["".join(rng_words.choice(syllables) for _ in range(rng_words.randint(1, 3)))
                                        for _ in range(6_000)]))[:3_000]
    made = {}
    for lang, words in (("zh", zh), ("en", en)):
        total, cumulative = 0.0, []
        for rank in range(1, len(words) + 1):
            total += 1 / rank
            cumulative.append(total)
        made[lang] = (words, cumulative)
    return made


def article(rng: random.Random, vocabulary: dict, source: SimpleNamespace, version: int) -> bytes:
    """The text of one version of a page: some 40 sentences, and the planted names its source says."""
    words, cumulative = vocabulary[source.lang]
    sentences = [rng.choices(words, cum_weights=cumulative, k=rng.randint(6, 16)) for _ in range(rng.randint(25, 55))]
    for number, (name, share) in enumerate(SEARCH_NAMES[source.lang]):
        if (source.id * 7919 + number * 104_729) % 100_000 < share * 100_000:
            sentences[rng.randrange(len(sentences))].insert(2, name)
    if source.lang == "zh":
        return "\n".join("".join(sentence) + "。" for sentence in sentences).encode("utf-8")
    return "\n".join(" ".join(sentence).capitalize() + "." for sentence in sentences).encode("utf-8")


def stamp(value: datetime | None) -> str | None:
    """A timestamp as SQLAlchemy stores it in SQLite (naive UTC, microseconds)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if value else None


def phrase(rng: random.Random, lang: str, low: int, high: int) -> str:
    if lang == "zh":
        return "".join(rng.choice(ZH_WORDS) for _ in range(rng.randint(low, high)))
    return " ".join(rng.choice(EN_WORDS) for _ in range(rng.randint(low, high))).capitalize()


def _insert(db: sqlite3.Connection, table: str, columns: list[str], rows) -> int:
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    total = 0
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            db.executemany(sql, batch)
            total += len(batch)
            batch.clear()
    if batch:
        db.executemany(sql, batch)
        total += len(batch)
    return total


def plan_sources(count: int, rng: random.Random) -> list[SimpleNamespace]:
    """Each source's site, language, final state and the passes at which its page changed."""
    sites = max(10, count // 50)
    states = [s for s, weight in STATES for _ in range(weight)]
    sources = []
    for i in range(count):
        site = int(rng.paretovariate(1.2)) % sites
        lang = "zh" if site % 3 else "en"
        state = rng.choice(states)
        edits = sorted(rng.sample(range(1, 19), rng.choice([1, 1, 2]))) if rng.random() < 0.2 else []
        if state == "altered":
            edits = sorted(set(edits) | {19})
        host = f"www.{'gov' if site % 2 else 'news'}{site}.{'cn' if lang == 'zh' else 'org'}"
        if lang == "zh":
            path = f"/zwgk/2023-{1 + i % 12:02d}/{1 + i % 28:02d}/content_{i}.htm"
        else:
            path = f"/news/{i}-{rng.choice(EN_WORDS)}.html"
        sources.append(SimpleNamespace(
            id=i + 1, url=f"https://{host}{path}", host=host, lang=lang, state=state, edits=edits,
            conditional=site % 5 == 0, title=phrase(rng, lang, 3, 6), publisher=f"{host} publisher",
        ))
    return sources


def version_at(source: SimpleNamespace, pass_no: int) -> int:
    return sum(1 for e in source.edits if e <= pass_no)


def seed(path: Path, sources: int, per_source: int, claims: int, blob_bytes: int, seed_value: int,
         texts: bool = False) -> dict:
    """Write the store at `path` (replaced) and return what was written and how long it took;
    `texts`: articles for the texts (see --texts)."""
    seeder = _Seeder(path, sources, per_source, blob_bytes, seed_value, texts)
    seeder.runs_and_blobs()
    seeder.sources_and_captures()
    seeder.db.execute("BEGIN")
    seeder.wayback_jobs()
    seeder.evidence(claims)
    seeder.db.execute("COMMIT")
    return seeder.finish(claims)


class _Seeder:
    """One seeded store, written table by table with plain sqlite3 (each step a method)."""

    def __init__(self, path: Path, sources: int, per_source: int, blob_bytes: int, seed_value: int,
                 texts: bool = False) -> None:
        self.rng = random.Random(seed_value)
        self.texts = texts
        self.path, self.sources, self.per_source, self.blob_bytes = path, sources, per_source, blob_bytes
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        engine = open_database(f"sqlite:///{path}").kw["bind"]
        engine.dispose()
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA cache_size=-200000")
        self.timings: dict = {}
        self.started = time.monotonic()
        self.plan = plan_sources(sources, self.rng)
        self.settings = json.dumps(capture_settings(Config()))
        self.settings_plain = json.loads(self.settings)
        self.request_headers = json.dumps({"host": "", "user-agent": Config().fetch.user_agent,
                                           "accept": "text/html,application/xhtml+xml",
                                           "accept-language": "en,zh-CN;q=0.9"})
        self.keys: dict[tuple, str] = {}
        self.last_good: dict[int, int] = {}
        self.last_capture: dict[int, int] = {}
        self.checks_of: dict[int, list[tuple[int, int, str]]] = {}  # source -> (capture id, version, verdict)
        self.chain: dict = {"prev": None, "id": 0}
        self.last_pass = BASE + timedelta(days=per_source - 1)

    def runs_and_blobs(self) -> None:
        self.db.execute("BEGIN")
        _insert(self.db, "runs", ["id", "started_at", "ended_at", "worker", '"trigger"', "status", "counts"], (
            (r + 1, stamp(BASE + timedelta(days=r)), stamp(BASE + timedelta(days=r, hours=1)), "seed:1:abc", "schedule",
             "finished", json.dumps({"total": self.sources})) for r in range(self.per_source)))
        self.timings["blobs"] = _insert(self.db, "blobs", ["sha256", "size", "codec", "data", "created_at"], self.blobs())
        self.db.execute("COMMIT")

    def blobs(self):
        """Random bytes (incompressible, like already compressed pages) stored zstd-framed under
        their real SHA-256, so that `archiver verify` passes on the seeded store."""
        created = stamp(BASE)
        wanted = [(kind, s.id, v) for s in self.plan for v in range(len(s.edits) + 1) for kind in ("body", "text")]
        wanted += [("notfound", 0, 0)]
        vocabulary = _vocabulary(self.rng) if self.texts else None
        by_id = {s.id: s for s in self.plan}
        for key in wanted:
            if self.texts and key[0] == "text":
                raw = article(self.rng, vocabulary, by_id[key[1]], key[2])
            else:
                raw = self.rng.randbytes(self.blob_bytes if key[0] != "text" else max(16, self.blob_bytes // 8))
            digest = hashlib.sha256(raw).hexdigest()
            self.keys[key] = digest
            yield digest, len(raw), "zstd", compress(raw), created

    def sources_and_captures(self) -> None:
        db, plan, per_source = self.db, self.plan, self.per_source
        db.execute("BEGIN")
        _insert(db, "sources", ["id", "url", "lang", "title", "publisher", "added_at", "state", "next_due_at",
                                "capture_count", "interval_hours"], (
            (s.id, s.url, s.lang, s.title, s.publisher, stamp(BASE - timedelta(days=30)), "pending",
             stamp(BASE + timedelta(days=per_source)), per_source, None) for s in plan))
        self.timings["captures"] = _insert(db, "captures", CAPTURE_COLUMNS, self.captures())
        db.execute("UPDATE chain_heads SET capture_id = ?, record_hash = ? WHERE id = 1",
                   (self.chain["id"], self.chain["prev"]))
        last_pass = self.last_pass
        db.executemany(
            "UPDATE sources SET state = ?, state_since = ?, state_reason = ?, final_url = ?, last_checked_at = ?, "
            "last_error = ?, last_capture_id = ?, last_good_capture_id = ?, unreachable_since = ? WHERE id = ?",
            ((s.state, stamp(last_pass - timedelta(days=1 if s.state in ("deleted", "unreachable") else 0)),
              STATE_REASONS[s.state],
              s.url.replace("https://", "https://new.") if s.state == "moved" else s.url, stamp(last_pass),
              f"timed out after 30 s waiting for {s.host} to send data" if s.state == "unreachable" else None,
              self.last_capture[s.id], self.last_good[s.id],
              stamp(last_pass - timedelta(days=1)) if s.state == "unreachable" else None, s.id) for s in plan))
        db.execute("COMMIT")

    def captures(self):
        """Every capture row, pass by pass, each sealed onto the chain."""
        capture_id = 0
        for pass_no in range(self.per_source):
            for s in self.plan:
                capture_id += 1
                yield self.capture(capture_id, pass_no, s)

    def capture(self, capture_id: int, pass_no: int, s: SimpleNamespace) -> tuple:
        """One capture row of source `s` at pass `pass_no`, sealed onto the chain."""
        started_at = BASE + timedelta(days=pass_no, seconds=s.id * 0.05)
        version = version_at(s, pass_no)
        status, error_kind, error = 200, None, None
        body: str | None = self.keys[("body", s.id, version)]
        text: str | None = self.keys[("text", s.id, version)]
        verdict, reason, not_modified = _verdict_at(s, pass_no)
        final_url = s.url
        if s.state == "moved" and pass_no == self.per_source - 1:
            verdict, reason = "moved", "permanently redirected (301) to a new address; identical text"
            final_url = s.url.replace("https://", "https://new.")
        failing = s.state in ("deleted", "unreachable") and pass_no >= self.per_source - 2
        if failing and s.state == "deleted":
            status, body, text, verdict, reason = 404, self.keys[("notfound", 0, 0)], None, "deleted", "status 404 (not found)"
        elif failing:
            status, body, text, verdict = None, None, None, "unreachable"
            error_kind, error = "timeout", f"timed out after 30 s waiting for {s.host} to send data"
            reason = f"timeout: {error}; the last good capture stands"
        headers = [["Server", "nginx"], ["Date", started_at.strftime("%a, %d %b %Y %H:%M:%S GMT")],
                   ["Content-Type", "text/html; charset=utf-8"], ["Content-Length", "41234"]]
        if s.conditional:
            headers.append(["ETag", f'"{s.id:x}-{version}"'])
        record = SimpleNamespace(
            id=capture_id, source_id=s.id, origin="live", requested_url=s.url, final_url=final_url,
            started_at=started_at, ended_at=started_at + timedelta(milliseconds=480),
            status_code=304 if not_modified else status,
            redirects=[[301, final_url]] if final_url != s.url else [], request_headers=json.loads(self.request_headers),
            response_headers=headers, server_ip="203.0.113.7" if status else None, http_version="HTTP/1.1",
            content_type="text/html; charset=utf-8" if status else None, charset="utf-8" if text else None,
            body_sha256=body, body_size=40_000 + s.id % 50_000 if body else None, text_sha256=text,
            not_modified=not_modified, error_kind=error_kind, error=error, verdict=verdict,
            verdict_reason=reason, tool=TOOL_NAME, tool_version=__version__, config=self.settings_plain,
        )
        prev = self.chain["prev"]
        digest = record_hash(record, prev)
        compared = self.last_good.get(s.id)
        if verdict in ("new", "unchanged", "altered", "moved"):
            self.last_good[s.id] = capture_id
        self.last_capture[s.id] = capture_id
        self.checks_of.setdefault(s.id, []).append((capture_id, version, verdict))
        self.chain["prev"], self.chain["id"] = digest, capture_id
        return (capture_id, s.id, pass_no + 1, "live", s.url, final_url, stamp(started_at), stamp(record.ended_at),
                record.status_code, json.dumps(record.redirects), self.request_headers, json.dumps(headers),
                record.server_ip, "HTTP/1.1", record.content_type, record.charset, body, record.body_size, text,
                4_000 + s.id % 9_000 if text else 0, s.title if text else None, "2023-05-12" if text else None,
                int(not_modified), error_kind, error, verdict, reason, 1.0 if verdict == "unchanged" else None,
                compared, TOOL_NAME, __version__, self.settings, 480, prev, digest)

    def wayback_jobs(self) -> None:
        """One done job per source (its copy written on its first capture), some pending."""
        rows = []
        for s in self.plan:
            first_capture = self.checks_of[s.id][0][0]
            rows.append((s.id, first_capture, s.url, "new", "done", 1, stamp(BASE), f"spn2-{s.id}",
                         f"https://web.archive.org/web/20260101020000/{s.url}", "20260101020000", stamp(BASE),
                         stamp(BASE + timedelta(hours=2))))
            if s.state in ("altered", "moved") or self.rng.random() < 0.02:
                rows.append((s.id, self.last_capture[s.id], s.url, s.state if s.state != "unchanged" else "stale",
                             "pending", 0, stamp(self.last_pass), None, None, None, stamp(self.last_pass),
                             stamp(self.last_pass)))
        self.timings["wayback_jobs"] = _insert(self.db, "wayback_jobs", [
            "source_id", "capture_id", "url", "reason", "status", "attempts", "next_attempt_at", "spn_job_id",
            "wayback_url", "wayback_timestamp", "created_at", "updated_at"], rows)
        self.db.executemany("UPDATE captures SET wayback_url = ?, wayback_timestamp = ? WHERE id = ?",
                            ((r[8], r[9], r[1]) for r in rows if r[4] == "done"))

    def evidence(self, claims: int) -> None:
        """Claims, data points, their citations and a quote check per quoted citation and capture."""
        rng, db = self.rng, self.db
        claim_rows, point_rows, citation_rows = [], [], []
        cited_sources = list(range(1, self.sources + 1))
        for c in range(claims):
            lang = "zh" if c % 3 else "en"
            claim_id = f"claim-{c:05d}"
            claim_rows.append((claim_id, phrase(rng, "en", 8, 20),
                               json.dumps(["xinjiang"] if c % 4 else ["surveillance"]), stamp(BASE), stamp(BASE)))
            count = 300 if c == 0 else max(1, min(150, int(rng.lognormvariate(2.8, 0.7))))
            for source_id in rng.sample(cited_sources, count):
                quote = phrase(rng, lang, 4, 10) if rng.random() < 0.7 else None
                citation_rows.append((claim_id, None, source_id, quote, "2025-11-03", None, stamp(BASE)))
            for p in range(rng.randint(0, 5)):
                point_id = f"dp-{c:05d}-{p}"
                point_rows.append((point_id, phrase(rng, "en", 1, 3), rng.choice(["China", "Kenya", "Serbia"]),
                                   rng.choice(["surveillance", "research", "cloud"]), "Nairobi", -1.28, 36.82, "2023",
                                   phrase(rng, "en", 5, 9), claim_id, stamp(BASE), stamp(BASE)))
                for source_id in rng.sample(cited_sources, rng.randint(1, 3)):
                    citation_rows.append((None, point_id, source_id, phrase(rng, lang, 4, 8), "2025-11-03", None,
                                          stamp(BASE)))
        _insert(db, "claims", ["id", "text", "tags", "created_at", "updated_at"], claim_rows)
        _insert(db, "datapoints", ["id", "entity", "country", "category", "place", "latitude", "longitude", "date",
                                   "description", "claim_id", "created_at", "updated_at"], point_rows)
        self.timings["citations"] = _insert(db, "citations", ["claim_id", "datapoint_id", "source_id", "quote",
                                                              "accessed", "note", "created_at"], citation_rows)
        checked_at = stamp(BASE)
        self.timings["quote_checks"] = _insert(db, "quote_checks", ["citation_id", "capture_id", "status", "score",
                                                                    "detail", "closest", "checked_at"],
                                               ((*row, checked_at) for row in self.quote_checks(citation_rows)))

    def quote_checks(self, citation_rows: list[tuple]):
        by_source = {s.id: s for s in self.plan}
        for citation_id, (_, _, source_id, quote, *_rest) in enumerate(citation_rows, start=1):
            if not quote:
                continue
            source = by_source[source_id]
            lost_at = source.edits[0] if source.edits and citation_id % 3 == 0 else None
            for capture_id, version, verdict in self.checks_of[source_id]:
                if verdict == "deleted":
                    yield (citation_id, capture_id, "missing", 0.0, "the page is deleted: status 404 (not found)", None)
                elif verdict in ("new", "unchanged", "altered", "moved"):
                    missing = lost_at is not None and version >= 1
                    yield (citation_id, capture_id, "missing" if missing else "present", 0.71 if missing else 1.0,
                           "the quote is not in the text; closest passage 71% alike" if missing else "found word for word",
                           "a close passage" if missing else None)

    def finish(self, claims: int) -> dict:
        if self.texts:  # as a store made before search existed: `archiver search --reindex` indexes it
            self.db.execute("UPDATE search_backfill SET capture_id_upto = (SELECT MAX(id) FROM captures), done_upto = 0")
        self.db.execute("ANALYZE")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()
        self.timings["sources"] = self.sources
        self.timings["claims"] = claims
        self.timings["seconds"] = round(time.monotonic() - self.started, 1)
        self.timings["file_bytes"] = self.path.stat().st_size
        return self.timings


def _verdict_at(s: SimpleNamespace, pass_no: int) -> tuple[str, str, bool]:
    """(verdict, reason, answered 304) of a source's capture at a pass, before failures and moves."""
    if pass_no == 0:
        return "new", "first capture", False
    if pass_no in s.edits:
        return "altered", "similarity 0.93 to the previous capture; 1 paragraph changed", False
    if s.conditional:
        return "unchanged", "status 304: the server says the page has not changed since the previous capture", True
    return "unchanged", "identical bytes to the previous capture", False


CAPTURE_COLUMNS = ["id", "source_id", "run_id", "origin", "requested_url", "final_url", "started_at", "ended_at",
                   "status_code", "redirects", "request_headers", "response_headers", "server_ip", "http_version",
                   "content_type", "charset", "body_sha256", "body_size", "text_sha256", "text_length",
                   "page_title", "published", "not_modified", "error_kind", "error", "verdict", "verdict_reason",
                   "similarity", "compared_to_id", "tool", "tool_version", "config", "elapsed_ms", "prev_hash",
                   "record_hash"]
STATE_REASONS = {"unchanged": "identical bytes to the previous capture",
                 "altered": "similarity 0.93 to the previous capture",
                 "deleted": "status 404 (not found)", "unreachable": "timeout: the last good capture stands",
                 "moved": "permanently redirected (301) to a new address"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="SQLite file to create (replaced if it exists)")
    parser.add_argument("--sources", type=int, default=50_000)
    parser.add_argument("--captures-per-source", type=int, default=20)
    parser.add_argument("--claims", type=int, default=2_000)
    parser.add_argument("--blob-bytes", type=int, default=2_000, help="stored size of each body blob (texts: 1/8)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--texts", action="store_true",
                        help="texts are articles of Chinese or English words, for benchmarks/search.py")
    args = parser.parse_args()
    result = seed(Path(args.path).resolve(), args.sources, args.captures_per_source, args.claims, args.blob_bytes,
                  args.seed, args.texts)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
