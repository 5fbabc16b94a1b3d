"""Stopping a pass the way it happens: Ctrl-C typed in a terminal (SIGINT to the whole
foreground process group, through a real pseudo-terminal), SIGTERM to the process group (what
`systemctl stop` does), and a second signal to stop at once. After each: the right exit status,
no traceback, captures in flight stored (or dropped on the second signal), the run recorded as
interrupted, every source not captured still due, and `archiver verify` clean."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest
from sqlalchemy import select

from archiver.db import open_database
from archiver.models import Capture, Run, Source, utcnow
from archiver.sources import add_source
from tests.processes import ENV_KEYS, captures, kill_hard, wait_for, write_config

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PARAGRAPH = "<p>第{i}号：市公安局视频监控平台建设项目完成验收，覆盖全市主要道路和公共场所。Notice {i} on the camera network.</p>"


def page(i: int) -> str:
    body = "".join(PARAGRAPH.format(i=f"{i}-{n}") for n in range(300))
    return f"<html><head><title>通知 {i}</title></head><body><article><h1>通知 {i}</h1>{body}</article></body></html>"


@pytest.fixture
def store(site, tmp_path):
    """40 tracked pages that each take 2 s to answer, four fetched at a time: a pass is always
    mid-way when the test stops it. New captures are screenshotted (a browser runs beside the
    pass when it is stopped)."""
    db_url = f"sqlite:///{tmp_path / 'archive.db'}"
    sessions = open_database(db_url)
    with sessions.begin() as session:
        for i in range(40):
            add_source(session, site.set(f"/n/{i}.html", page(i), delay=2.0))
    config = write_config(tmp_path / "config.toml", db_url,
                          fetch={"concurrency": 4, "per_host_concurrency": 4, "timeout": 20.0, "total_timeout": 30.0},
                          capture={"extract_workers": 2}, verdict={"probe_not_found": False},
                          browser={"screenshots": True},
                          schedule={"stop_grace_seconds": 30.0, "due_check_seconds": 1})
    return sessions, config


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    env["PYTHONPATH"] = str(ROOT)
    return env


def in_terminal(config: Path, *args: str) -> pexpect.spawn:
    """`archiver ARGS` in a pseudo-terminal, as a person runs it."""
    return pexpect.spawn(sys.executable, ["-m", "archiver", "--config", str(config), *args], cwd=str(config.parent),
                         env=_env(), encoding="utf-8", timeout=60, dimensions=(40, 200))


def in_group(config: Path, *args: str) -> subprocess.Popen:
    """`archiver ARGS` as the leader of its own process group, as systemd starts a service."""
    return subprocess.Popen([sys.executable, "-m", "archiver", "--config", str(config), *args], cwd=config.parent,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def finish_terminal(child: pexpect.spawn, timeout: float) -> tuple[int | None, str]:
    child.expect(pexpect.EOF, timeout=timeout)
    child.close()
    return child.exitstatus, child.before


def check_store(sessions, config: Path, dropped: bool) -> Run:
    """The store after a stopped pass: nothing half-done, nothing lost, nothing failed for the stop."""
    with sessions() as session:
        run = session.scalars(select(Run)).one()
        rows = list(session.scalars(select(Capture)))
        sources = list(session.scalars(select(Source)))
    assert run.status == "interrupted" and run.counts["total"] == len(rows)
    assert all(c.error is None and c.error_kind is None for c in rows), [c.error for c in rows if c.error]
    assert all(s.lease_owner is None for s in sources)
    captured = {c.source_id for c in rows}
    left = [s for s in sources if s.id not in captured]
    assert left, "the test stops the pass before its end"
    assert all(s.capture_count == 0 and s.next_due_at <= utcnow() for s in left), "sources not captured stay due"
    if not dropped:
        assert all(s.state == "new" for s in sources if s.id in captured)
    verify = subprocess.run([sys.executable, "-m", "archiver", "--config", str(config), "verify"], cwd=config.parent,
                            env=_env(), capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    return run


def test_ctrl_c_in_a_terminal_finishes_the_captures_in_flight_and_exits_130(site, store):
    sessions, config = store
    child = in_terminal(config, "run", "--all", "--no-progress")
    assert wait_for(lambda: captures(sessions) >= 4, timeout=30)
    child.sendintr()
    signalled = time.monotonic()
    status, output = finish_terminal(child, timeout=40)
    assert status == 130, output
    assert "stopping: no new captures" in output and "interrupted" in output
    assert "Traceback" not in output and "BrokenProcessPool" not in output
    assert time.monotonic() - signalled < 15, "only the captures in flight are finished"
    run = check_store(sessions, config, dropped=False)
    assert run.counts["total"] >= 8, "captures in flight at the signal were finished and stored"


def test_a_second_ctrl_c_drops_the_captures_in_flight_at_once(site, store):
    sessions, config = store
    child = in_terminal(config, "run", "--all", "--no-progress")
    assert wait_for(lambda: captures(sessions) >= 4, timeout=30)
    child.sendintr()
    child.expect("stopping: no new captures", timeout=10)
    stored_at_first = captures(sessions)
    child.sendintr()
    signalled = time.monotonic()
    status, output = finish_terminal(child, timeout=20)
    assert status == 130, output
    assert time.monotonic() - signalled < 5
    assert "stopping now" in output and "Traceback" not in output
    check_store(sessions, config, dropped=True)
    assert captures(sessions) <= stored_at_first + 4


def test_sigterm_to_the_process_group_stops_run_cleanly_with_143(site, store):
    sessions, config = store
    proc = in_group(config, "run", "--all", "--no-progress")
    try:
        assert wait_for(lambda: captures(sessions) >= 4, timeout=30)
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            kill_hard(proc)
    assert proc.returncode == 143, output
    assert "Traceback" not in output and "BrokenProcessPool" not in output
    check_store(sessions, config, dropped=False)


def test_the_scheduler_exits_0_on_sigterm_to_its_group_and_130_on_ctrl_c(site, store):
    sessions, config = store
    proc = in_group(config, "schedule")
    try:
        assert wait_for(lambda: captures(sessions) >= 4, timeout=30)
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            kill_hard(proc)
    assert proc.returncode == 0, output
    assert "Traceback" not in output and "BrokenProcessPool" not in output
    check_store(sessions, config, dropped=False)

    before = captures(sessions)
    child = in_terminal(config, "schedule", "--once")
    assert wait_for(lambda: captures(sessions) >= before + 2, timeout=30)
    child.sendintr()
    status, output = finish_terminal(child, timeout=40)
    assert status == 130, output
    assert "Traceback" not in output and "BrokenProcessPool" not in output
