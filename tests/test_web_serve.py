"""`archiver serve` as a process: it starts on loopback, answers, and stops on SIGTERM or Ctrl-C
with exit status 0 (a server stopped on request, as `archiver schedule` after SIGTERM)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import make_cli
from tests.webserver import free_port


def _as_in_a_terminal() -> None:
    """Ctrl-C reaches the server as in a terminal, also when the tests run as a background job
    (whose shell starts it with SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_on_loopback_and_stops_on_a_signal(tmp_path, monkeypatch, signum):
    cli = make_cli(tmp_path, monkeypatch)
    assert cli("add", "https://example.org/page").exit_code == 0
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_")}
    process = subprocess.Popen([sys.executable, "-m", "archiver", "--config", str(cli.config), "serve", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_as_in_a_terminal)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/sources", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
                time.sleep(0.2)
        assert response.status_code == 200 and "https://example.org/page" in response.text
        assert httpx.get(f"http://127.0.0.1:{port}/", headers={"host": "evil.example"}).status_code == 400
        process.send_signal(signum)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    told = process.stderr.read()
    assert f"http://127.0.0.1:{port}/" in told and told.rstrip().endswith("stopped")
