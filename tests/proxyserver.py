"""A real proxy server on loopback for tests: pproxy (PyPI), started as its own process.

It speaks SOCKS5 on one port and HTTP on another, optionally asks for a user and password, and can be
made to refuse the hosts matching a regular expression (pproxy's block rules close the
connection, as a firewall in the way of a site does). Each request it forwards is logged
(`ProxyServer.forwarded`), so a test can tell which proxy a page went through.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _die_with_parent() -> None:
    """In the proxy's process, before it starts: be killed when the test process ends, even by
    SIGKILL, so that no proxy outlives the tests (Linux's PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ProxyServer:
    """`ProxyServer(user="u", password="p", block=r"127\\.0\\.0\\.2").start()`; `.url("socks5")`, `.stop()`."""

    def __init__(self, *, user: str | None = None, password: str | None = None, block: str | None = None) -> None:
        self.user, self.password, self.block = user, password, block
        self.ports: dict[str, int] = {}
        self.process: subprocess.Popen | None = None
        self.folder = Path(tempfile.mkdtemp(prefix="proxy-"))
        self.log = self.folder / "pproxy.log"

    def url(self, scheme: str = "socks5", *, password: str | None = None) -> str:
        """The proxy's URL for `scheme` (socks5 or http), with its credentials (or `password` instead)."""
        auth = ""
        if self.user:
            auth = f"{self.user}:{password if password is not None else self.password}@"
        return f"{scheme}://{auth}127.0.0.1:{self.ports['http' if scheme == 'http' else 'socks5']}"

    def start(self) -> ProxyServer:
        command = shutil.which("pproxy", path=str(Path(sys.executable).parent)) or "pproxy"
        for _ in range(5):
            self.ports = {"socks5": _free_port(), "http": _free_port()}
            args = [command, "-v", "--auth", "0"]  # ask every client for its credentials, every time
            for scheme, port in self.ports.items():
                listen = f"{scheme}://127.0.0.1:{port}"
                args += ["-l", listen + (f"#{self.user}:{self.password}" if self.user else "")]
            if self.block:
                rules = self.folder / "block.txt"
                rules.write_text(self.block + "\n", encoding="utf-8")
                args += ["-b", str(rules)]
            with open(self.log, "ab") as log:
                self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                                preexec_fn=_die_with_parent)
            if self._wait_ready():
                return self
            self.stop()
        raise RuntimeError(f"pproxy did not start: {self.log.read_text(errors='replace')}")

    def _wait_ready(self, seconds: float = 15.0) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                for port in self.ports.values():
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        pass
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def forwarded(self) -> list[str]:
        """The host:port of each connection the proxy made for a client, in order."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return re.findall(r"-> (\S+)", text)

    def refused(self) -> list[str]:
        """The hosts the proxy refused to connect to (its block rules)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return re.findall(r"BLOCK (\S+)", text)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # pproxy ignores SIGTERM, and has nothing to save
            self.process.wait()
        self.process = None
