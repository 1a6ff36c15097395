"""Local servers on 127.0.0.1 that record what the notification channels send.

The HTTP server stands in for the Telegram Bot API, a Slack webhook and a generic webhook
receiver; the SMTP server is a small line-based responder (aiosmtpd is not a dependency) that
speaks just enough ESMTP for smtplib: EHLO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
"""

from __future__ import annotations

import base64
import socket
import socketserver
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class CannedResponse:
    status: int = 200
    body: bytes = b'{"ok": true, "result": {}}'
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0


class RecordingHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.requests: list[RecordedRequest] = []
        self.response = CannedResponse()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def respond(
        self, status: int, body: bytes | str = b"", headers: dict[str, str] | None = None, delay: float = 0.0
    ) -> None:
        raw = body.encode() if isinstance(body, str) else body
        self.response = CannedResponse(status, raw, headers or {"Content-Type": "text/plain"}, delay)


class _RecordingHandler(BaseHTTPRequestHandler):
    server: RecordingHTTPServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.server.requests.append(RecordedRequest("POST", self.path, dict(self.headers.items()), body))
        canned = self.server.response
        if canned.delay:
            time.sleep(canned.delay)
        try:
            self.send_response(canned.status)
            for name, value in canned.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(canned.body)))
            self.end_headers()
            self.wfile.write(canned.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def log_message(self, format: str, *args: object) -> None:
        pass


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


class RecordingSMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.messages: list[ReceivedMail] = []
        self.logins: list[tuple[str, str]] = []
        self.credentials: tuple[str, str] | None = None  # when set, AUTH is offered and checked
        self.rcpt_replies: dict[str, str] = {}  # address -> reply line, e.g. "550 5.1.1 no such user"
        self.data_reply = "250 2.0.0 queued"

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _SMTPHandler(socketserver.StreamRequestHandler):
    server: RecordingSMTPServer

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def _read_line(self) -> str | None:
        raw = self.rfile.readline(65536)
        return raw.decode("utf-8", "replace").rstrip("\r\n") if raw else None

    def _authenticate(self, argument: str) -> None:
        mechanism, _, initial = argument.partition(" ")
        if mechanism.upper() == "PLAIN":
            if not initial:
                self._reply("334 ")
                initial = self._read_line() or ""
            _, user, password = base64.b64decode(initial).decode().split("\0")
        elif mechanism.upper() == "LOGIN":
            self._reply("334 " + base64.b64encode(b"Username:").decode())
            user = base64.b64decode(self._read_line() or "").decode()
            self._reply("334 " + base64.b64encode(b"Password:").decode())
            password = base64.b64decode(self._read_line() or "").decode()
        else:
            self._reply("504 5.5.4 unrecognized authentication type")
            return
        self.server.logins.append((user, password))
        if (user, password) == self.server.credentials:
            self._reply("235 2.7.0 authentication successful")
        else:
            self._reply("535 5.7.8 authentication credentials invalid")

    def handle(self) -> None:
        self._reply("220 localhost ESMTP recording server")
        mail_from, rcpt_tos = "", list[str]()
        while (line := self._read_line()) is not None:
            verb, _, argument = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                features = ["localhost", "8BITMIME", "SIZE 10485760"]
                if self.server.credentials:
                    features.append("AUTH PLAIN LOGIN")
                for feature in features[:-1]:
                    self._reply(f"250-{feature}")
                self._reply(f"250 {features[-1]}")
            elif verb == "HELO":
                self._reply("250 localhost")
            elif verb == "AUTH":
                self._authenticate(argument)
            elif verb == "MAIL":
                mail_from, rcpt_tos = argument.split(":", 1)[1].split()[0].strip("<>"), []
                self._reply("250 2.1.0 ok")
            elif verb == "RCPT":
                address = argument.split(":", 1)[1].split()[0].strip("<>")
                reply = self.server.rcpt_replies.get(address, "250 2.1.5 ok")
                if reply.startswith("2"):
                    rcpt_tos.append(address)
                self._reply(reply)
            elif verb == "DATA":
                self._reply("354 end data with <CR><LF>.<CR><LF>")
                chunks: list[bytes] = []
                while (raw := self.rfile.readline(1 << 20)) and raw not in (b".\r\n", b".\n"):
                    chunks.append(raw[1:] if raw.startswith(b"..") else raw)  # undo dot-stuffing
                if self.server.data_reply.startswith("2"):
                    self.server.messages.append(ReceivedMail(mail_from, rcpt_tos, b"".join(chunks)))
                self._reply(self.server.data_reply)
            elif verb in ("RSET", "NOOP"):
                self._reply("250 2.0.0 ok")
            elif verb == "QUIT":
                self._reply("221 2.0.0 bye")
                return
            else:
                self._reply("502 5.5.2 command not implemented")
