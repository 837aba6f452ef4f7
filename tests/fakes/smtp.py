"""A local SMTP server (RFC 5321's plain dialogue, AUTH PLAIN/LOGIN accepted) that keeps every
message it receives, for tests of the "batch ended" email."""
from __future__ import annotations

import email
import email.policy
import socketserver
import threading


class FakeSMTP:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write((line + "\r\n").encode())

            def handle(self) -> None:
                self.reply("220 fake-smtp ready")
                sender, recipients = None, []
                while line := self.rfile.readline().decode().rstrip("\r\n"):
                    verb = line.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250-fake-smtp")
                        self.reply("250 AUTH PLAIN LOGIN")
                    elif verb == "MAIL":
                        sender, recipients = line.split(":", 1)[1].strip(" <>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(line.split(":", 1)[1].strip(" <>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with .")
                        data = []
                        while (chunk := self.rfile.readline().decode()) not in (".\r\n", ""):
                            data.append(chunk[1:] if chunk.startswith("..") else chunk)
                        fake.envelopes.append((sender, recipients))
                        fake.messages.append(email.message_from_string(
                            "".join(data), policy=email.policy.default))
                        self.reply("250 queued")
                    elif verb == "AUTH":
                        self.reply("235 authenticated")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 OK")

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"smtp://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
