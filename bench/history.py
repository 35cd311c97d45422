"""Run history: does the server slow down as its history grows, and what does each run cost on disk?

    python bench/history.py [--runs 1000000] [--window 100000] [--repeat 3] [--url sqlite:///…]

Each repeat makes `--runs` pure runs (the `pure` workflow of bench/http.py) with the executor and
hands each record to the server's `RunRecorder` (server/state.py), which saves them in batches as
it does while serving; the loop waits for the recorder's flush every 500 records, so the
database's cost is inside the figure. Printed per repeat: runs/s of every window of `--window`
runs, the last window's rate over the first's (target ≥ 0.9: a growing history does not slow the
path), and the bytes the database file grew per run after a WAL checkpoint (target ≤ 300). Every
repeat is printed; the summary is the median.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py would hide the standard library's `http` from this script's imports: leave the
# bench folder off sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time

from wfkit.core.executor import Executor
from wfkit.core.services import Services
from wfkit.core.store import Store
from wfkit.server.state import MAX_BATCH, RunRecorder
from wfkit.testing import compile_source

APP = """
@exposed(auth: none)
workflow pure(n: number) {
  let total = n * 2 + 1
  return { total: total, label: "n={n}" }
}
"""


async def one(url: str, runs: int, window: int) -> tuple[list[float], float]:
    """Rates (runs/s) of each window, and bytes per run on disk (SQLite; 0 elsewhere)."""
    app = compile_source(APP)
    services = Services()
    store = await Store.open(url, app=app, services=services)
    path = Path(url.removeprefix("sqlite://")) if url.startswith("sqlite://") else None
    start_size = path.stat().st_size if path else 0
    executor = Executor(app, services)
    wf = app.workflows["pure"]
    recorder = RunRecorder(store)
    rates = []
    try:
        t0 = time.perf_counter()
        for i in range(runs):
            recorder.add(await executor.run(wf, {"n": i}, trigger="http", durable=False))
            if len(recorder.pending) >= MAX_BATCH:
                await recorder.flush()
            if (i + 1) % window == 0:
                await recorder.flush()
                t1 = time.perf_counter()
                rates.append(window / (t1 - t0))
                t0 = t1
        await recorder.close()
        if path:
            await store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await store.close()
    size = (path.stat().st_size - start_size) / runs if path else 0.0
    return rates, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--window", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", help="a database URL (default: a new SQLite file per repeat)")
    args = parser.parse_args()
    ratios, sizes = [], []
    for k in range(args.repeat):
        folder = Path(tempfile.mkdtemp(prefix="wfkit-history-"))
        url = args.url or f"sqlite://{folder / 'data.sqlite3'}"
        try:
            rates, size = asyncio.run(one(url, args.runs, args.window))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        ratio = rates[-1] / rates[0]
        ratios.append(ratio)
        sizes.append(size)
        shown = " ".join(f"{r:,.0f}" for r in rates)
        print(f"run {k + 1}: runs/s per {args.window:,}: {shown}")
        print(f"run {k + 1}: last/first = {ratio:.2f}   bytes per run on disk = {size:.0f}")
    print(
        f"median of {args.repeat}: last/first = {statistics.median(ratios):.2f} (target ≥ 0.9), "
        f"bytes per run = {statistics.median(sizes):.0f} (target ≤ 300)  [{os.cpu_count()} CPUs]"
    )


if __name__ == "__main__":
    main()
