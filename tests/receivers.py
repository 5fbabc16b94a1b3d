"""Real loopback receivers for notification tests: an incoming-webhook server and an SMTP server."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Webhook:
    """An incoming-webhook endpoint on 127.0.0.1: records every JSON POST, answers `statuses` in turn."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.posts: list[dict] = []
        self.statuses = list(statuses or [])
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hook.lock:
                    hook.posts.append(json.loads(body))
                    status = hook.statuses.pop(0) if hook.statuses else 200
                answer = b"ok" if status == 200 else b"server error"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/abc123"

    def start(self) -> Webhook:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Collect:
    def __init__(self, mailbox: list) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.mailbox.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class MailServer:
    """An SMTP server on 127.0.0.1 (aiosmtpd); with `login`, it demands that user and password."""

    def __init__(self, login: tuple[str, str] | None = None) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []
        self.port = free_port()
        kwargs = {}
        if login:
            def authenticate(server, session, envelope, mechanism, auth_data):
                ok = isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) == login
                return AuthResult(success=ok, handled=False)

            kwargs = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False}
        self.controller = Controller(_Collect(self.messages), hostname="127.0.0.1", port=self.port, **kwargs)

    def start(self) -> MailServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
