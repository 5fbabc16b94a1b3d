"""Start real `archiver` processes for tests: a config file on disk, `python -m archiver` in a subprocess."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from archiver.models import Capture

ENV_KEYS = ("ARCHIVER_DATABASE_URL", "ARCHIVER_CONFIG", "ARCHIVER_WEBHOOK_URL", "ARCHIVER_SMTP_PASSWORD")


def write_config(path: Path, db_url: str, **sections: dict) -> Path:
    """A config.toml for a test worker: loopback allowed, no politeness delay, Wayback off, no browser
    (plain captures, no screenshots), plus `sections`."""
    settings = {
        "database": {"url": db_url},
        "fetch": {"allow_private_addresses": True, "per_host_delay": 0.0, "timeout": 5.0, "total_timeout": 10.0,
                  "render": "never"},
        "browser": {"screenshots": False},
        "wayback": {"enabled": False},
    }
    for name, values in sections.items():
        settings.setdefault(name, {}).update(values)
    lines = []
    for name, values in settings.items():
        lines.append(f"[{name}]")
        for key, value in values.items():
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, str):
                text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            elif isinstance(value, list):
                text = "[" + ", ".join(f'"{v}"' for v in value) + "]"
            else:
                text = repr(value)
            lines.append(f"{key} = {text}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def archiver(config: Path, *args: str, **kwargs) -> subprocess.Popen:
    """Start `python -m archiver --config CONFIG ARGS...` in its own process group; output is captured."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return subprocess.Popen(
        [sys.executable, "-m", "archiver", "--config", str(config), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=config.parent,
        start_new_session=True, **kwargs,
    )


def console_script(name: str) -> str:
    """The path of a console script installed beside this Python (the venv's bin), found even
    when the venv is not activated; else whatever `name` is on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def kill_hard(proc: subprocess.Popen) -> None:
    """SIGKILL a worker with its extraction processes, as when its machine dies."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def spawn_processes():
    """Body of a `spawn` fixture: `spawn(config, *args)` starts `archiver`; whatever still runs at the end
    of the test (a failed assertion left it running) is killed with its extraction processes."""
    started: list[subprocess.Popen] = []

    def start(config: Path, *args: str) -> subprocess.Popen:
        proc = archiver(config, *args)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            kill_hard(proc)


def captures(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Capture)) or 0


def wait_for(condition, timeout: float, interval: float = 0.05) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; returns whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (read from /proc)."""
    return _children_by_parent().get(pid, [])


def descendants(pid: int) -> list[int]:
    """Every process below `pid`: its children, theirs, and so on."""
    by_parent = _children_by_parent()
    found, todo = [], [pid]
    while todo:
        for child in by_parent.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _children_by_parent() -> dict[int, list[int]]:
    by_parent: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    stat = handle.read()
            except OSError:
                continue
            by_parent.setdefault(int(stat[stat.rindex(b")") + 2:].split()[1]), []).append(int(entry))
    return by_parent
