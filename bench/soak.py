"""Soak: `wf serve` under a steady mix for minutes, printing how it holds up each minute.

    python bench/soak.py [--minutes 10] [--load 0.7] [--workers 1]

The mix, in equal shares: a pure workflow, a workflow that creates a thing in SQLite, one that
schedules a run in 1 second (which creates a `Tick`), and a Data API search. First the server's
capacity for the mix is measured (a closed loop of 16 connections for 10 s, its time counted until
the background runs it caused have run too); then requests go out
at `--load` x that rate, at fixed intended start times, on keep-alive connections, and each
latency is measured from the request's intended start — so a stall shows as the queue it causes
(no coordinated omission). Printed per minute: throughput, p50/p99/p99.9, errors, the server's RSS
and open files (all its processes), the database's size, and the client's own lag: the longest it
was late sending a request (a stall of the client, which the latencies would otherwise blame on the
server; the client counts latencies instead of listing them, and freezes what it holds, so that its
collector has little to walk). At the end: every scheduled run ran
exactly once (Ticks counted in the database). Targets (issue 15): 0 errors, RSS growth < 5 % after
the first minute, the last minute's p99 within 1.2 x the first's, every scheduled run once.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py would hide the standard library's `http` from this script's imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import gc
import itertools
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import psutil

APP = """
type Hit {
  n: number
  label: text
}
type Tick {
  n: number
}
@exposed(auth: none)
workflow pure(n: number) {
  let total = n * 2 + 1
  return { total: total, label: "n={n}" }
}
@exposed(auth: none)
workflow create_hit(n: number) {
  h = create Hit(n: n, label: "hit {n}")
  return { id: h.id }
}
@exposed(auth: none)
workflow later(n: number) {
  h = schedule tick(n: n) in 1 second
  return { id: h.id }
}
workflow tick(n: number) {
  create Tick(n: n)
}
"""
CONNECTIONS = 16
WARM_UP_N = 1_000_000_000  # the numbers of the capacity phase's requests start here
DRAIN_S = 30.0  # how long the requests still out at the end may take


def _request(kind: str, n: int, port: int) -> bytes:
    host = f"127.0.0.1:{port}"
    if kind == "search":
        constraints = quote(json.dumps([{"key": "n", "constraint_type": "equals", "value": n % 100}]))
        return f"GET /api/1.1/obj/hit?constraints={constraints}&limit=5 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    body = json.dumps({"n": n}).encode()
    head = (
        f"POST /api/1.1/wf/{kind} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


MIX = ("pure", "create_hit", "later", "search")


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request on a keep-alive connection; its status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


class Latencies:
    """Latencies counted to the 10 µs (a count per value seen, not a list of every request's): a
    request costs the client one dict update, and a percentile sorts a few thousand values at
    most, so that neither the client's lists nor its garbage collector stall the sending."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}  # latency in units of 10 µs → how many
        self.total = 0

    def add(self, seconds: float) -> None:
        key = int(seconds * 100_000)
        self.counts[key] = self.counts.get(key, 0) + 1
        self.total += 1

    def merge(self, other: Latencies) -> None:
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
        self.total += other.total

    def percentile_ms(self, q: float) -> float:
        """The latency (ms) that `q` of the requests took at most."""
        rank = min(self.total - 1, int(q * self.total))
        seen = 0
        for key in sorted(self.counts):
            seen += self.counts[key]
            if seen > rank:
                return key / 100
        return float("nan")


@dataclass
class Minute:
    latencies: Latencies = field(default_factory=Latencies)
    by_kind: dict[str, Latencies] = field(default_factory=lambda: {kind: Latencies() for kind in MIX})
    errors: int = 0
    later_ok: int = 0
    send_lag: float = 0.0  # the longest the client itself was late sending a request (its own stalls), s


async def closed_loop(port: int, seconds: float, numbers: Iterator[int]) -> tuple[int, int]:
    """Requests of the mix answered with CONNECTIONS connections, each sending as soon as it can,
    and how many of them were `later` calls answered 200 (each leaves a background run)."""
    count = later = 0
    deadline = time.monotonic() + seconds

    async def one_connection() -> None:
        nonlocal count, later
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.monotonic() < deadline:
            n = next(numbers)
            kind = MIX[n % len(MIX)]
            status = await _exchange(reader, writer, _request(kind, n, port))
            count += 1
            later += kind == "later" and status == 200
        writer.close()

    await asyncio.gather(*(one_connection() for _ in range(CONNECTIONS)))
    return count, later


def ticks_of_warm_up(database: Path) -> int:
    with sqlite3.connect(database) as db:
        return int(
            db.execute(
                "SELECT COUNT(*) FROM things WHERE type = 'Tick' AND json_extract(data, '$.n') >= ?", [WARM_UP_N]
            ).fetchone()[0]
        )


def wait_for_ticks(database: Path, expected: int, within: float = 300.0) -> None:
    """Until the background runs the closed loop left have all run."""
    deadline = time.monotonic() + within
    while ticks_of_warm_up(database) < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the closed loop's {expected} background runs did not all run within {within} s")
        time.sleep(0.2)


def capacity_of_the_mix(port: int, database: Path) -> float:
    """Requests per second the server can go on taking: a closed loop of the mix, its time counted
    until the background runs its `later` calls left behind have run too (otherwise a steady rate
    at 70 % of a closed loop's figure builds a backlog of runs that never drains)."""
    numbers = itertools.count(WARM_UP_N)  # apart from the steady phase's numbers, whose ticks are counted
    _, later = asyncio.run(closed_loop(port, 3, numbers))  # warm-up
    wait_for_ticks(database, later)
    start = time.monotonic()
    count, more = asyncio.run(closed_loop(port, 10, numbers))
    wait_for_ticks(database, later + more)
    return count / (time.monotonic() - start)


async def steady(port: int, rate: float, minutes: int, on_minute: Callable[[int, Minute], None]) -> list[Minute]:
    """`rate` requests a second at fixed intended times, for `minutes`; latency from the intended start."""
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(CONNECTIONS * 4):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    result = [Minute() for _ in range(minutes)]
    start = time.monotonic()
    interval = 1 / rate
    pending: set[asyncio.Task[None]] = set()

    async def send(i: int, intended: float, minute: Minute) -> None:
        kind = MIX[i % len(MIX)]
        conn = await pool.get()
        try:
            status = await _exchange(conn[0], conn[1], _request(kind, i, port))
        except (OSError, asyncio.IncompleteReadError):
            minute.errors += 1
            conn = await asyncio.open_connection("127.0.0.1", port)
        else:
            if status != 200:
                minute.errors += 1
            elif kind == "later":
                minute.later_ok += 1
            latency = time.monotonic() - intended
            minute.latencies.add(latency)
            minute.by_kind[kind].add(latency)
        pool.put_nowait(conn)

    reported = 0
    for i in itertools.count():
        intended = start + i * interval
        if intended >= start + minutes * 60:
            break
        delay = intended - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        minute = result[min(int((intended - start) // 60), minutes - 1)]
        minute.send_lag = max(minute.send_lag, time.monotonic() - intended)
        task = asyncio.create_task(send(i, intended, minute))
        pending.add(task)
        task.add_done_callback(pending.discard)
        elapsed_minutes = int((time.monotonic() - start) // 60)
        while reported < elapsed_minutes:
            on_minute(reported, result[reported])
            reported += 1
    _, late = await asyncio.wait(pending, timeout=DRAIN_S) if pending else (set(), set())
    for task in late:  # not answered within DRAIN_S of the end: counted as errors of the last minute
        task.cancel()
    result[-1].errors += len(late)
    while reported < minutes:
        on_minute(reported, result[reported])
        reported += 1
    return result


def _server_usage(pid: int) -> tuple[float, float, int]:
    """RSS (MB) of the server and its child processes, that of its Redis among them, and their open files."""
    root = psutil.Process(pid)
    processes = [p for p in (root, *root.children(recursive=True)) if p.is_running()]
    rss = sum(p.memory_info().rss for p in processes) / 1e6
    redis = sum(p.memory_info().rss for p in processes if "redis" in p.name()) / 1e6
    files = sum(p.num_fds() for p in processes)
    return rss, redis, files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--load", type=float, default=0.7, help="the share of the measured capacity to send")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="wfkit-soak-"))
    (folder / "app.wf").write_text(APP)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("WF_DATABASE_URL", "WF_REDIS_URL", "WF_DATA_DIR")}
    command = [sys.executable, "-m", "wfkit.server.cli", "serve", "app.wf", "--port", str(port), "--no-access-log"]
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen([*command, "--workers", str(args.workers)], cwd=folder, env=env, stdout=log, stderr=log)
    database = folder / ".wf" / "data.sqlite3"
    try:
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        capacity = capacity_of_the_mix(port, database)
        rate = capacity * args.load
        print(
            f"capacity of the mix: {capacity:,.0f} req/s; sending {rate:,.0f} req/s ({args.load:.0%}) "
            f"for {args.minutes} min"
        )
        print(
            "minute  req/s    p50 ms   p99 ms  p99.9 ms  errors   RSS MB (Redis)  files  db MB  lag ms   p99 ms: "
            + " ".join(f"{kind:>10}" for kind in MIX)
        )
        rss_seen: list[float] = []

        def on_minute(i: int, m: Minute) -> None:
            rss, redis, files = _server_usage(server.pid)
            rss_seen.append(rss)
            size = sum(p.stat().st_size for p in database.parent.glob("data.sqlite3*")) / 1e6
            lat = m.latencies
            print(
                f"{i + 1:>6}  {lat.total / 60:>5,.0f}  {lat.percentile_ms(0.5):>8.2f} {lat.percentile_ms(0.99):>8.2f} "
                f"{lat.percentile_ms(0.999):>9.2f}  {m.errors:>6}  {rss:>7.1f} {redis:>7.1f}  {files:>5}  {size:>5.1f}"
                f"  {m.send_lag * 1000:>6.1f}"
                + " " * 10
                + " ".join(f"{m.by_kind[kind].percentile_ms(0.99):>10.2f}" for kind in MIX),
                flush=True,
            )

        gc.collect()  # what the client holds from now on lives to its end: no collector pass walks it again
        gc.freeze()
        minutes = asyncio.run(steady(port, rate, args.minutes, on_minute))
        time.sleep(3)  # the last scheduled runs are due 1 s after their call
        scheduled = sum(m.later_ok for m in minutes)
        with sqlite3.connect(database) as db:
            ticks, distinct = db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT json_extract(data, '$.n')) FROM things "
                "WHERE type = 'Tick' AND json_extract(data, '$.n') < ?",
                [WARM_UP_N],
            ).fetchone()
        errors = sum(m.errors for m in minutes)
        first_p99 = minutes[0].latencies.percentile_ms(0.99)
        last_p99 = minutes[-1].latencies.percentile_ms(0.99)
        growth = (rss_seen[-1] / rss_seen[0] - 1) * 100 if len(rss_seen) > 1 else 0.0
        print(
            f"errors {errors} (target 0); RSS growth after minute 1: {growth:+.1f} % (target < 5 %); "
            f"p99 last/first {last_p99 / first_p99:.2f} (target ≤ 1.2); scheduled {scheduled}, ran {ticks}, "
            f"distinct {distinct} (target: all equal)"
        )
        overall = Latencies()
        for m in minutes:
            overall.merge(m.latencies)
        print(f"median latency over the run: {overall.percentile_ms(0.5):.2f} ms")
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
