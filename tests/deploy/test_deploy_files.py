"""The files in deploy/ hold together: the compose file is valid against the compose
specification (`docker compose config` where the plugin exists) and wires web, workers, Redis
with AOF and Caddy; every setting the program reads is in .env.example; the image runs as a
user that owns its data volume; the Procfile gives every process the same Redis; the proxies
stream ZIPs."""
from __future__ import annotations

import re
import shutil
import subprocess
from importlib.resources import files

import pytest
import yaml
from jsonschema import Draft7Validator

from testkit import ROOT

DEPLOY = ROOT / "deploy"


def settings_read() -> set[str]:
    config = (ROOT / "server" / "config.py").read_text()
    return set(re.findall(r'_(?:env|list)\("([A-Z0-9_]+)"', config)) | {"XDG_DATA_HOME"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_file_follows_the_compose_specification(compose):
    schema_text = files("check_jsonschema.builtin_schemas.vendor").joinpath(
        "compose-spec.json").read_text()
    errors = sorted(Draft7Validator(yaml.safe_load(schema_text)).iter_errors(compose), key=str)
    assert not errors, [error.message for error in errors]


@pytest.mark.skipif(subprocess.run(["docker", "compose", "version"], capture_output=True).returncode
                    if shutil.which("docker") else True, reason="no `docker compose` here")
def test_docker_compose_accepts_it(tmp_path):
    env = tmp_path / ".env"
    shutil.copy(DEPLOY / ".env.example", env)
    done = subprocess.run(["docker", "compose", "-f", DEPLOY / "compose.yaml", "--env-file", env,
                           "config", "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_compose_wires_web_workers_redis_and_caddy(compose):
    services = compose["services"]
    assert set(services) == {"redis", "web", "worker", "caddy"}
    assert "--appendonly" in services["redis"]["command"] and \
        "redis:/data" in services["redis"]["volumes"]
    for name in ("web", "worker"):
        app = services[name]
        assert app["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert app["environment"]["SHEETBATCH_DATA"] == "/data" and "data:/data" in app["volumes"]
        assert app["env_file"] == [".env"] and app["build"]["dockerfile"] == "deploy/Dockerfile"
        assert app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["web"]["environment"]["SHEETBATCH_BIND"] == "0.0.0.0:8000"
    assert services["web"].get("ports") is None  # only Caddy faces the network
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in services["caddy"]["volumes"]
    assert set(compose["volumes"]) >= {"redis", "data", "caddy-data"}
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    assert "{$SHEETBATCH_DOMAIN}" in caddyfile and "reverse_proxy web:8000" in caddyfile
    assert "flush_interval -1" in caddyfile


def test_every_setting_is_in_the_env_example():
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (DEPLOY / ".env.example").read_text(),
                            re.MULTILINE))
    assert settings_read() <= listed, sorted(settings_read() - listed)


def test_the_image_runs_as_a_user_owning_its_data_volume():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    user = re.search(r"^USER (\S+)", dockerfile, re.MULTILINE).group(1)
    assert user not in ("root", "0")
    assert re.search(rf"chown {user}:{user} /data", dockerfile)
    assert 'VOLUME ["/data"]' in dockerfile and "SHEETBATCH_DATA=/data" in dockerfile
    assert dockerfile.index("chown") < dockerfile.index("VOLUME") < dockerfile.index("USER")
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert ignore[ignore.index("*") + 1:].count("!server/") == 1 and ".venv" not in ignore


def test_the_procfile_gives_every_process_one_redis():
    lines = dict(line.split(":", 1) for line in (DEPLOY / "Procfile").read_text().splitlines()
                 if line and not line.startswith("#"))
    assert set(lines) == {"redis", "web", "worker"}
    port = "${SHEETBATCH_REDIS_PORT:-6379}"
    assert f"--port {port}" in lines["redis"] and "--appendonly yes" in lines["redis"]
    for name in ("web", "worker"):
        assert f"REDIS_URL=redis://127.0.0.1:{port}/0" in lines[name]


def test_nginx_streams_zips_and_passes_what_proxyfix_reads():
    nginx = (DEPLOY / "nginx.conf").read_text()
    for directive in ("proxy_buffering off;", "X-Forwarded-Proto $scheme;",
                      "X-Forwarded-For $proxy_add_x_forwarded_for;", "X-Forwarded-Host $host;"):
        assert directive in nginx


def test_systemd_units_run_the_installed_program_as_its_user():
    for unit in ("sheetbatch-web.service", "sheetbatch-worker.service"):
        text = (DEPLOY / unit).read_text()
        assert "User=sheetbatch" in text
        assert "EnvironmentFile=/etc/sheetbatch/sheetbatch.env" in text
        assert "ExecStart=/opt/sheetbatch/venv/bin/sheetbatch " in text
