"""Single-user mode answers only this computer (issue 23): raw HTTP requests to a real
`sheetbatch serve` bound to 127.0.0.1 with no GOOGLE_CLIENT_ID, Host and proxy headers as an
attacker or a proxy would send them — no browser needed."""
from __future__ import annotations

import os
import socket

import pytest

from server.web.signin import PROXY_HEADERS
from testkit import ROOT
from testkit.processes import serving

REBINDING_HOSTS = ["attacker.example", "attacker.example:{port}", "127.0.0.1.nip.io:{port}",
                   "localhost.attacker.example", "127.0.0.2:{port}", "0.0.0.0:{port}",
                   "127.0.0.1:1", "", "localhost:{port}@attacker.example"]
PROXIES = [f"{name}: 203.0.113.9" for name in PROXY_HEADERS] + [
    "X-Forwarded-For: 127.0.0.1", "X-Forwarded-Host: localhost", "X-Forwarded-Proto: http",
    "X-Forwarded-Prefix: /", "X-Forwarded-Server: proxy", "x-forwarded-for: 127.0.0.1"]


@pytest.fixture(scope="module")
def local_server(redis_server, tmp_path_factory) -> int:
    """`sheetbatch serve` on 127.0.0.1 with no GOOGLE_CLIENT_ID: single-user mode; its port."""
    env = {name: value for name, value in os.environ.items()
           if name not in ("GOOGLE_CLIENT_ID", "SHEETBATCH_SINGLE_USER", "SHEETBATCH_BIND")}
    env.update(REDIS_URL=redis_server.url, PYTHONPATH=str(ROOT), SHEETBATCH_SECRET_KEY="s",
               SHEETBATCH_DATA=str(tmp_path_factory.mktemp("single-user")))
    with serving(env) as url:
        yield int(url.rsplit(":", 1)[1])


def raw_get(port: int, path: str, headers: list[str]) -> tuple[int, str]:
    """One HTTP/1.1 request as bytes on a socket: the headers exactly as given."""
    request = "\r\n".join([f"GET {path} HTTP/1.1", *headers, "Connection: close", "", ""])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request.encode())
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.decode("utf-8", "replace").partition("\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize("path", ["/", "/creations", "/api/health"])
@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "localhost",
                                  "LOCALHOST:{port}"])
def test_this_computer_is_answered(local_server, path, host):
    status, body = raw_get(local_server, path, [f"Host: {host.format(port=local_server)}"])
    assert status == 200, body[:300]


@pytest.mark.parametrize("host", REBINDING_HOSTS)
def test_another_host_gets_no_single_user_page(local_server, host):
    status, body = raw_get(local_server, "/", [f"Host: {host.format(port=local_server)}"])
    assert status in (400, 403) and "csrf_token" not in body and "you@localhost" not in body


@pytest.mark.parametrize("header", PROXIES)
def test_a_proxied_request_gets_no_single_user_page(local_server, header):
    status, body = raw_get(local_server, "/", [f"Host: 127.0.0.1:{local_server}", header])
    assert status == 403 and "csrf_token" not in body and "you@localhost" not in body
    assert "single-user mode" in body
