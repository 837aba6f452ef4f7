"""A local SMTP server (RFC 5321's minimal command set: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
QUIT; AUTH PLAIN when a login is set) that keeps every message it accepts."""
from __future__ import annotations

import base64
import email
import email.policy
import socketserver
import threading


class FakeSMTP:
    def __init__(self, username: str | None = None, password: str | None = None):
        self.login = (username, password) if username else None
        self.messages: list[email.message.EmailMessage] = []
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> "FakeSMTP":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 fake-smtp ready")
                authed, sender, recipients = fake.login is None, None, []
                while line := self.rfile.readline():
                    verb, _, rest = line.decode().strip().partition(" ")
                    verb = verb.upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250-fake-smtp\r\n250 AUTH PLAIN" if fake.login
                                   else "250 fake-smtp")
                    elif verb == "AUTH":
                        _, _, blob = rest.partition(" ")
                        _, user, password = base64.b64decode(blob).decode().split("\0")
                        authed = (user, password) == fake.login
                        self.reply("235 ok" if authed else "535 bad credentials")
                    elif verb == "MAIL" and not authed:
                        self.reply("530 authentication required")
                    elif verb == "MAIL":
                        sender, recipients = rest, []
                        self.reply("250 ok")
                    elif verb == "RCPT" and sender:
                        recipients.append(rest)
                        self.reply("250 ok")
                    elif verb == "DATA" and recipients:
                        self.reply("354 end with <CRLF>.<CRLF>")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data += chunk[1:] if chunk.startswith(b"..") else chunk
                        fake.messages.append(email.message_from_bytes(
                            data, policy=email.policy.default))
                        self.reply("250 queued")
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 ok")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("503 bad sequence of commands")

        return Handler
