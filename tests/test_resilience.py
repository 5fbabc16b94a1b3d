"""The store survives what the machine does to the archiver: kill -9 at any moment of a pass, a
disk that fills up, a database file that cannot be written. Each time: a clear error, no
capture lost, duplicated or half-written, and `archiver verify` clean."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archiver.db import open_database
from archiver.integrity import verify_store
from archiver.models import Capture, Source
from archiver.sources import add_source
from tests.processes import archiver, write_config

pytestmark = pytest.mark.slow

SOURCES = 300
KILLS = 15
SEED = int(os.environ.get("ARCHIVER_KILL_SEED", "13"))


def page(n: int, edition: int = 0) -> str:
    return (f"<html><head><title>Notice {n}</title></head><body><article><h1>Notice {n}</h1>"
            + f"<p>第{n}号公告：the bureau lists its suppliers and the sums paid to each of them in {2000 + n % 25}.</p>" * 12
            + f"<p>Edition {edition}: {edition * 7 + n} contracts were signed.</p></article></body></html>")


def publish(site, edition: int) -> list[str]:
    """Every notice in a new edition, so that each pass has new bodies to read and store."""
    return [site.set(f"/notice/{n}.html", page(n, edition), delay=0.01) for n in range(SOURCES)]


def track(db_url: str, urls: list[str]) -> None:
    sessions = open_database(db_url)
    with sessions.begin() as session:
        for url in urls:
            add_source(session, url)
    sessions.kw["bind"].dispose()


def store_state(db_url: str) -> tuple[dict[int, tuple], list]:
    """Every capture (id -> its sealed hash, source, run, body), and the verify report's problems."""
    sessions = open_database(db_url)
    with sessions() as session:
        rows = session.execute(select(Capture.id, Capture.record_hash, Capture.source_id, Capture.run_id,
                                      Capture.body_sha256)).all()
        problems = verify_store(session).problems
    sessions.kw["bind"].dispose()
    return {row.id: tuple(row[1:]) for row in rows}, problems


def duplicates(captures: dict[int, tuple]) -> list[tuple[int, int]]:
    """(run, source) pairs captured more than once in one run."""
    seen: dict[tuple[int, int], int] = {}
    for _, source, run, _ in captures.values():
        seen[(run, source)] = seen.get((run, source), 0) + 1
    return [key for key, count in seen.items() if count > 1]


def test_kill_9_at_random_moments_of_a_pass_loses_duplicates_and_half_writes_nothing(site, tmp_path, sqlite_url):
    db_url = sqlite_url
    config = write_config(tmp_path / "config.toml", db_url,
                          fetch={"concurrency": 8, "per_host_concurrency": 8}, capture={"batch_size": 25})
    track(db_url, publish(site, 0))
    first = archiver(config, "run", "--all", "--no-progress")
    assert first.wait(timeout=300) == 0, first.stderr.read()
    publish(site, 1)
    began = time.monotonic()
    second = archiver(config, "run", "--all", "--no-progress")  # a pass like the ones to be killed
    assert second.wait(timeout=300) == 0, second.stderr.read()
    length = time.monotonic() - began
    before, problems = store_state(db_url)
    assert len(before) == 2 * SOURCES and not problems

    rng = random.Random(SEED)
    moments = sorted(rng.uniform(0.0, length) for _ in range(KILLS))
    print(f"\nseed {SEED}: a pass takes {length:.1f} s; kill -9 at {', '.join(f'{m:.2f}' for m in moments)} s")
    for number, moment in enumerate(moments):
        publish(site, number + 2)
        proc = archiver(config, "run", "--all", "--no-progress")
        time.sleep(moment)
        whole_group = number % 2 == 0  # the machine dies, or only the pass's process is killed
        if whole_group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        after, problems = store_state(db_url)
        assert not problems, f"kill {number + 1} at {moment:.2f} s: verify found {problems[:3]}"
        lost = {cid for cid in before if after.get(cid) != before[cid]}
        assert not lost, f"kill {number + 1} at {moment:.2f} s: captures lost or rewritten: {sorted(lost)[:10]}"
        assert not duplicates(after), f"kill {number + 1}: a source captured twice in one run"
        print(f"  kill {number + 1} at {moment:.2f} s ({'process group' if whole_group else 'main process'}): "
              f"{len(after) - len(before)} captures stored by the killed pass")
        before = after

    last = archiver(config, "run", "--no-progress")  # what the killed passes left due
    assert last.wait(timeout=300) == 0, last.stderr.read()
    final = archiver(config, "run", "--all", "--no-progress")
    assert final.wait(timeout=300) == 0, final.stderr.read()
    after, problems = store_state(db_url)
    assert not problems and not duplicates(after)
    assert all(after.get(cid) == before[cid] for cid in before)
    final_run = max(run for _, _, run, _ in after.values())
    assert sorted(source for _, source, run, _ in after.values() if run == final_run) == list(range(1, SOURCES + 1))
    sessions = open_database(db_url)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Source).where(Source.state.not_in(("new", "unchanged", "altered")))) == 0
        assert session.scalar(select(func.count()).select_from(Source).where(Source.lease_owner.is_not(None))) == 0
    sessions.kw["bind"].dispose()
    verify = subprocess.run([sys.executable, "-m", "archiver", "--config", str(config), "verify"],
                            capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(Path(__file__).parent.parent)),
                            timeout=300)
    assert verify.returncode == 0 and "archive intact" in verify.stdout, verify.stdout + verify.stderr


# --- a full disk, a read-only database ------------------------------------------------------


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@pytest.fixture
def small_disk(tmp_path):
    """A folder on its own 6 MB tmpfs (`remount(size)` makes it larger); skipped where this
    process may not mount file systems (it needs root, or CAP_SYS_ADMIN)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a full disk is made with a small tmpfs, and mounting one needs root")
    made = _mount("-t", "tmpfs", "-o", "size=6m", "tmpfs", str(disk))
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")

    def remount(size: str) -> None:
        assert _mount("-o", f"remount,size={size}", str(disk)).returncode == 0

    yield disk, remount
    subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def random_page(n: int) -> bytes:
    """A page of 120 KB of text that does not compress: a few dozen fill a small disk."""
    words = random.Random(n).choices(["监控", "采购", "公安", "合同", "supplier", "camera", "bureau", "contract"], k=18_000)
    return (f"<html><head><title>Contract {n}</title></head><body><article><p>"
            + " ".join(words) + "</p></article></body></html>").encode("utf-8")


def test_a_full_disk_stops_the_pass_with_a_clear_error_and_loses_nothing(site, tmp_path, small_disk):
    disk, remount = small_disk
    urls = [site.set(f"/contract/{n}.html", random_page(n)) for n in range(120)]
    db_url = f"sqlite:///{disk / 'archive.db'}"
    config = write_config(tmp_path / "config.toml", db_url, capture={"batch_size": 10})
    track(db_url, urls)

    full = archiver(config, "run", "--no-progress")
    out, err = full.communicate(timeout=300)
    assert full.returncode == 1, out + err
    assert "error: the database could not be written: the disk holding it is full" in err, err
    assert "Traceback" not in err and "What was stored before is intact" in err
    stored, problems = store_state(db_url)
    assert not problems, problems
    assert 0 < len(stored) < len(urls), "some batches were stored before the disk filled up"

    remount("64m")
    again = archiver(config, "run", "--no-progress")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    after, problems = store_state(db_url)
    assert not problems and all(after[cid] == stored[cid] for cid in stored), "captures stored before are intact"
    by_source = sorted(source for _, source, _, _ in after.values())
    assert by_source == list(range(1, len(urls) + 1)), "every source captured once: none lost, none twice"


@pytest.fixture
def read_only(tmp_path):
    """`make(folder)` makes a folder's files unwritable (a read-only bind mount for root, whom
    file modes do not stop; file modes for anyone else), `undo()` makes them writable again."""
    mounted: list[Path] = []

    def make(folder: Path) -> None:
        if os.geteuid() != 0:
            for path in [folder, *folder.iterdir()]:
                path.chmod(0o555 if path.is_dir() else 0o444)
            return
        if _mount("--bind", str(folder), str(folder)).returncode != 0:
            pytest.skip("cannot make a bind mount here (it needs root, or CAP_SYS_ADMIN)")
        mounted.append(folder)
        done = _mount("-o", "remount,bind,ro", str(folder))
        if done.returncode != 0:
            pytest.skip(f"cannot make a read-only mount here: {done.stderr.strip()}")

    def undo() -> None:
        while mounted:
            subprocess.run(["umount", str(mounted.pop())], capture_output=True)
        for path in tmp_path.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)

    yield make, undo
    undo()


def test_a_read_only_database_is_a_clear_error_and_changes_nothing(site, tmp_path, read_only):
    make_read_only, undo = read_only
    folder = tmp_path / "store"
    folder.mkdir()
    db_url = f"sqlite:///{folder / 'archive.db'}"
    config = write_config(tmp_path / "config.toml", db_url)
    urls = [site.set(f"/notice/{n}.html", page(n)) for n in range(3)]
    track(db_url, urls)
    first = archiver(config, "run", "--no-progress")
    assert first.wait(timeout=120) == 0
    before, _ = store_state(db_url)
    files = {path.name: path.read_bytes() for path in folder.iterdir()}
    make_read_only(folder)

    for args in (("run", "--all", "--no-progress"), ("add", site.url("/notice/new.html")),
                 ("import", str(tmp_path / "more.csv"))):
        if args[0] == "import":
            (tmp_path / "more.csv").write_text(f"url\n{site.url('/notice/other.html')}\n", encoding="utf-8")
        proc = archiver(config, *args)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, (args, out, err)
        assert "error: cannot open database" in err and "read-only" in err, (args, err)
        assert "nothing in it was changed" in err and "Traceback" not in err, (args, err)
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == files, "not a byte of the store changed"
    undo()
    after, problems = store_state(db_url)
    assert after == before and not problems
