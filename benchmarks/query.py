"""Time the read commands on a large archive: `archiver status`, `archiver report`, `archiver show`.

    python benchmarks/seed_store.py big.db          # 50,000 sources, 1,000,000 captures
    python benchmarks/query.py big.db [--repeat 3] [--json results.json]

Each command is timed two ways:
- "process": the whole `archiver ...` as a user runs it (the console script beside this
  Python, or `python -m archiver`), wall time, best of --repeat after one warm-up run, with
  Python's bytecode cache on (PYTHONDONTWRITEBYTECODE is removed from its environment: without
  .pyc files every start compiles the CLI again). This includes starting Python and importing
  the CLI, shown on its own as `--version`;
- "command": the command's own work in a process that has already imported the CLI (click's
  test runner): opening the database (with the schema version check), the queries, and
  rendering the output. This is what "the command answers in" means in docs/performance.md.
  Best of --repeat, with the number of SQL statements it ran.

Then every distinct statement the commands ran (through SQLAlchemy, or through
archiver.readdb for `status` and `report`) is explained (EXPLAIN QUERY PLAN), and any full
scan of a large table (captures, quote_checks, citations, sources, blobs, wayback_jobs) is
printed: a query that scans a table of a million rows cannot answer in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.append(str(REPO))

from click.testing import CliRunner  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from archiver import readdb  # noqa: E402
from archiver.cli import main as cli  # noqa: E402

LARGE_TABLES = ("captures", "quote_checks", "citations", "sources", "blobs", "wayback_jobs", "datapoints")


class Statements:
    """Every SQL statement run while `recording`, with its parameters and duration."""

    def __init__(self) -> None:
        self.recording = False
        self.items: list[tuple[str, object, float]] = []
        event.listen(Engine, "before_cursor_execute", self._before)
        event.listen(Engine, "after_cursor_execute", self._after)
        rows = readdb.Reader.rows

        def recorded_rows(reader, sql, params=()):
            started = time.perf_counter()
            try:
                return rows(reader, sql, params)
            finally:
                if self.recording and reader.dialect == "sqlite":
                    self.items.append((sql, tuple(params), time.perf_counter() - started))

        readdb.Reader.rows = recorded_rows

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["query_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.recording and conn.engine.dialect.name == "sqlite":
            self.items.append((statement, parameters, time.perf_counter() - conn.info.pop("query_started")))


def _environment() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(REPO)]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _archiver() -> list[str]:
    """The command a user types: the `archiver` console script installed beside this Python."""
    script = Path(sys.executable).with_name("archiver")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "archiver"]


def time_process(config: Path, args: list[str], repeat: int) -> tuple[float, int]:
    best, size = float("inf"), 0
    command = [*_archiver(), "--config", str(config), *args]
    subprocess.run(command, capture_output=True, env=_environment(), cwd=config.parent)  # writes the .pyc files
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, env=_environment(), cwd=config.parent)
        best = min(best, time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"archiver {' '.join(args)} failed:\n{done.stderr.decode()[-2000:]}")
        size = len(done.stdout)
    return best, size


def time_command(config: Path, args: list[str], repeat: int, statements: Statements) -> dict:
    runner = CliRunner()
    best = None
    for _ in range(repeat):
        statements.items = []
        statements.recording = True
        started = time.perf_counter()
        result = runner.invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
        elapsed = time.perf_counter() - started
        statements.recording = False
        if result.exit_code != 0:
            raise SystemExit(f"archiver {' '.join(args)} failed: {result.output[-2000:]}")
        sql = sorted(statements.items, key=lambda item: -item[2])
        run = {"seconds": elapsed, "statements": len(sql), "output_bytes": len(result.output),
               "all": [(s[0], s[1]) for s in sql]}
        if best is None or elapsed < best["seconds"]:
            best = run
    return best


def explain(db_path: Path, statements: list[tuple[str, object]]) -> list[dict]:
    """The plan of each distinct statement, and the full scans of large tables in it."""
    seen, plans = set(), []
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    for statement, parameters in statements:
        key = " ".join(statement.split())
        if key in seen or not key.upper().startswith(("SELECT", "WITH")):
            continue
        seen.add(key)
        try:
            rows = db.execute(f"EXPLAIN QUERY PLAN {statement}", parameters or ()).fetchall()
        except sqlite3.Error as exc:
            plans.append({"sql": key[:200], "error": str(exc)})
            continue
        steps = [row[-1] for row in rows]
        scans = [s for s in steps if re.match(rf"SCAN ({'|'.join(LARGE_TABLES)})\b(?! USING (COVERING )?INDEX)", s)]
        plans.append({"sql": key[:300], "plan": steps, "full_scans": scans, "limited": " LIMIT " in key.upper()})
    db.close()
    return plans


def pick(db_path: Path) -> dict:
    """A typical claim, the claim with most citations, and a source URL, from the store itself."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    biggest = db.execute("SELECT claim_id, count(*) c FROM citations WHERE claim_id IS NOT NULL "
                         "GROUP BY claim_id ORDER BY c DESC LIMIT 1").fetchone()
    typical = db.execute("SELECT claim_id, count(*) c FROM citations WHERE claim_id IS NOT NULL "
                         "GROUP BY claim_id ORDER BY c LIMIT 1 OFFSET (SELECT count(*) / 2 FROM claims)").fetchone()
    url = db.execute("SELECT url FROM sources WHERE state = 'altered' LIMIT 1").fetchone()[0]
    counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("sources", "captures", "citations",
                                                                               "quote_checks", "claims", "blobs")}
    db.close()
    return {"biggest": biggest, "typical": typical, "url": url, "counts": counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="SQLite archive (e.g. made by benchmarks/seed_store.py)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()
    db_path = Path(args.path).resolve()
    chosen = pick(db_path)
    workdir = Path(tempfile.mkdtemp(prefix="archiver-query-"))
    config = workdir / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{db_path}"\n')
    typical, biggest = chosen["typical"], chosen["biggest"]
    commands = [
        ("--version", ["--version"]),
        ("status (table: 200 rows, problems first)", ["status"]),
        ("status --limit 50", ["status", "--limit", "50"]),
        ("status --state altered (table: 200 rows)", ["status", "--state", "altered"]),
        ("status --json --state altered", ["status", "--json", "--state", "altered"]),
        ("status --json --limit 50", ["status", "--json", "--limit", "50"]),
        ("status --json (every source)", ["status", "--json"]),
        ("status --all (every source, table)", ["status", "--all"]),
        (f"report {typical[0]} --format json ({typical[1]} citations)", ["report", typical[0], "--format", "json"]),
        (f"report {biggest[0]} --format json ({biggest[1]} citations)", ["report", biggest[0], "--format", "json"]),
        (f"report {typical[0]} (markdown)", ["report", typical[0]]),
        ("show URL --json (20 captures)", ["show", chosen["url"], "--json"]),
    ]
    statements = Statements()
    rows, recorded = [], []
    print(f"store: {chosen['counts']}, {db_path.stat().st_size / 1e9:.2f} GB", file=sys.stderr)
    for name, command in commands:
        process, size = time_process(config, command, args.repeat)
        row = {"command": name, "process_seconds": round(process, 3), "output_bytes": size}
        if command != ["--version"]:
            inside = time_command(config, command, args.repeat, statements)
            recorded.extend(inside.pop("all"))
            row |= {"command_seconds": round(inside["seconds"], 3), "statements": inside["statements"]}
        rows.append(row)
        print(f"  {name}: process {row['process_seconds']:.3f} s", file=sys.stderr)
    plans = explain(db_path, recorded)
    results = {"store": chosen["counts"], "db_bytes": db_path.stat().st_size, "commands": rows, "plans": plans}

    print()
    print(f"store: {', '.join(f'{v:,} {k}' for k, v in chosen['counts'].items())}; {db_path.stat().st_size / 1e9:.2f} GB")
    width = max(len(r["command"]) for r in rows)
    print(f"{'command':<{width}}  process s  command s  statements")
    for r in rows:
        command = f"{r['command_seconds']:>9.3f}" if "command_seconds" in r else f"{'-':>9}"
        print(f"{r['command']:<{width}}  {r['process_seconds']:>9.3f}  {command}  {r.get('statements', '-'):>10}")
    scans = [p for p in plans if p.get("full_scans")]
    print(f"\n{len(plans)} distinct SELECT statements explained; {len(scans)} scan a large table without an index:")
    for p in scans:
        note = " (stops at its LIMIT)" if p["limited"] else ""
        print(f"  {', '.join(p['full_scans'])}{note}: {p['sql'][:200]}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
