"""Pipeline efficiency: N images from the fake provider with fixed latency and a shared
concurrency limit, measured against the ideal N × latency / limit.

    .venv/bin/python -m bench.pipeline [--images 400] [--workers 12]

(a) clean run; (b) the same with 10% 429 (Retry-After 1 s) and 5% 5xx, checking that no image
is lost or paid twice. Prints figures; asserts nothing about time.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rq import Worker

from server.batches.store import Batches
from server.cli.embedded_redis import EmbeddedRedis
from server.config import Settings
from server.generation.providers import account_id
from server.services import connect
from server.sheet.request import ImageRequest
from testkit import ROOT
from testkit.fakes.image_api import FakeImageAPI

LATENCY, LIMIT = 0.5, 8


def run_case(name: str, images: int, workers: int, fake: FakeImageAPI, folder: Path,
             **faults) -> dict:
    server = EmbeddedRedis(folder / f"redis-{name}").start()
    connection = connect(server.url)
    env = dict(os.environ, REDIS_URL=server.url, SHEETBATCH_DATA=str(folder / name),
               IDEOGRAM_API_KEY=fake.api_key, IDEOGRAM_BASE_URL=fake.url,
               IDEOGRAM_IMAGE_HOSTS=fake.image_host, SHEETBATCH_PROVIDER_CONCURRENCY=str(LIMIT),
               PYTHONPATH=str(ROOT))
    pool = subprocess.Popen([sys.executable, "-m", "server", "worker", "-n", str(workers)],
                            env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        while len(Worker.all(connection=connection)) < workers:
            time.sleep(0.1)
        fake.configure(reset=True)
        fake.configure(latency=LATENCY, rng_seed=7, **faults)
        requests = {row: ImageRequest(prompt=f"bench image {row}", visibility="private",
                                      model="3.0", num_images=1, seed_number=row)
                    for row in range(2, images + 2)}
        batches = Batches(connection)
        started = time.perf_counter()
        batch_id = batches.create(requests, owner="bench", provider="ideogram",
                                  account=account_id("ideogram", Settings.from_env(env)),
                                  storage_root=str(folder / name / "images"))
        while (status := batches.status(batch_id)).status not in (
                "completed", "completed_with_errors", "failed"):
            time.sleep(0.05)
        wall = time.perf_counter() - started
        errors = {row.error for row in status.rows.values() if row.error}
    finally:
        pool.terminate()
        pool.wait()
        server.stop()
    stats = fake.stats()
    ideal = images * LATENCY / LIMIT
    return {"case": name, "wall": wall, "ideal": ideal, "ratio": wall / ideal,
            "done": status.images["done"], "failed": status.images["failed"],
            "generated": stats["generated"], "duplicates": len(stats["duplicate_generations"]),
            "max_in_flight": stats["max_in_flight"], "errors": errors,
            "429": stats["responses_by_status"].get("429", 0),
            "5xx": sum(v for k, v in stats["responses_by_status"].items() if k.startswith("5"))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--workers", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp, FakeImageAPI() as fake:
        folder = Path(temp)
        results = [run_case("clean", args.images, args.workers, fake, folder),
                   run_case("faults", args.images, args.workers, fake, folder,
                            rate_limit_fraction=0.10, retry_after="1",
                            server_error_fraction=0.05)]
    print(f"{args.images} images, latency {LATENCY}s, limit {LIMIT}, {args.workers} workers "
          f"on {os.cpu_count()} CPUs")
    print(f"{'case':8} {'wall s':>7} {'ideal s':>7} {'ratio':>6} {'done':>5} {'failed':>6} "
          f"{'paid':>5} {'dupes':>5} {'in-flight':>9} {'429s':>5} {'5xx':>5}")
    for r in results:
        print(f"{r['case']:8} {r['wall']:7.2f} {r['ideal']:7.2f} {r['ratio']:6.3f} {r['done']:5} "
              f"{r['failed']:6} {r['generated']:5} {r['duplicates']:5} {r['max_in_flight']:9} "
              f"{r['429']:5} {r['5xx']:5}")
        for error in r["errors"]:
            print(f"  failed row in {r['case']}: {error}")


if __name__ == "__main__":
    main()
