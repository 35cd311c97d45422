"""HTTP throughput and latency, in one run on one machine, with wrk and hey (Debian packages `wrk`, `hey`):

  (a) bare Sanic answering the same JSON          — the baseline
  (b) `wf serve` running a pure workflow           (params → let → return)
  (c) `wf serve` running a workflow that creates a thing in SQLite

    python bench/http.py [--rounds 5] [--seconds 10] [--connections 16] [--tail-seconds 20] [--workers-2]

Both servers run at once, one process each with the access log off, and are warmed up; then each
round measures a, b and c one after the other with wrk (a closed loop: capacity), the order turning
each round (a b c, b c a, c a b), so that no side always goes first or last. wrk runs one thread.
Every measurement is printed (req/s, p50 and p99 latency, CPU time of the server per request, its
ratio to the same round's a), then the median of the rounds' ratios b/a and c/a.

Then the tail: b and c each at 70 % of their median capacity, at a fixed rate (hey -q, 16 workers
sharing the rate), every request's latency written out (hey -o csv) for p99 and p99.9. Targets
(issue 15): b/a ≥ 0.6, c/a ≥ 0.3; at 70 % p99 < 20 ms and p99.9 < 50 ms.

`--workers-2` adds (d) the pure workflow on `wf serve --workers 2` (its own data folder) to the
rotation, and prints d/b per round and its CPU time per request against b's.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/http.py`, this file's folder comes first on sys.path and its name would hide
# the standard library's `http` package from httpx: leave the folder out.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import contextlib
import csv
import io
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psutil

BARE = """
from sanic import Sanic
from sanic.response import json

app = Sanic("bare")

@app.post("/api/1.1/wf/pure")
async def pure(request):
    body = request.json
    n = body["n"]
    total = n * 2 + 1
    return json({"status": "success", "response": {"total": total, "label": f"n={n}"}})

if __name__ == "__main__":
    import sys
    app.run(host="127.0.0.1", port=int(sys.argv[1]), access_log=False, single_process=True, motd=False)
"""

APP = """
type Hit {
  n: number
  label: text
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
"""

POST_LUA = """
wrk.method = "POST"
wrk.body   = '{"n": 21}'
wrk.headers["Content-Type"] = "application/json"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(cmd: list[str], cwd: Path, url: str, env: dict[str, str]) -> Iterator[int]:
    log = (cwd / f"server-{int(time.time() * 1000)}.log").open("w")
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(url, json={"n": 1}, timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {' '.join(cmd)}") from None
                time.sleep(0.1)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def cpu_seconds(pid: int) -> float:
    """User and system time so far of a process and every process under it."""
    root = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in (root, *root.children(recursive=True)))


def wrk(url: str, lua: Path, seconds: int, connections: int, pid: int | None = None) -> dict[str, float]:
    before = cpu_seconds(pid) if pid else 0.0
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(lua), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    used = cpu_seconds(pid) - before if pid else 0.0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    lat = {}
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        assert m, out
        lat[pct] = float(m.group(1)) * UNITS[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} non-2xx answers:\n{out}")
    return {"rps": rps, "p50": lat["50"], "p99": lat["99"], "cpu_us": used / total * 1e6}


def at_fixed_rate(url: str, rate: float, seconds: int, workers: int = 16) -> dict[str, float]:
    """`rate` requests a second (hey -q: each of `workers` sends at rate/workers), every latency kept."""
    out = subprocess.run(
        [
            *("hey", "-z", f"{seconds}s", "-c", str(workers), "-q", f"{rate / workers:.2f}", "-m", "POST"),
            *("-T", "application/json", "-d", '{"n": 21}', "-o", "csv", url),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    failed = sum(1 for r in rows if r["status-code"] != "200")
    ms = sorted(float(r["response-time"]) * 1000 for r in rows)

    def pct(q: float) -> float:
        return ms[min(len(ms) - 1, int(q * len(ms)))]

    return {
        "sent": len(ms) / seconds,
        "failed": failed,
        "p50": pct(0.5),
        "p99": pct(0.99),
        "p999": pct(0.999),
        "max": ms[-1],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description="HTTP benchmark: bare Sanic vs wf serve")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--tail-seconds", type=int, default=20, help="how long each fixed-rate run lasts (0: none)")
    ap.add_argument("--load", type=float, default=0.7, help="the fixed rate, as a share of the measured capacity")
    ap.add_argument("--workers-2", action="store_true", help="also d: the pure workflow on `wf serve --workers 2`")
    args = ap.parse_args()
    for tool in ("wrk", "hey"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: apt-get install {tool}")

    a, b, c, d = "a bare Sanic", "b wf: pure workflow", "c wf: create in SQLite", "d wf --workers 2: pure"
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        (cwd / "bare.py").write_text(BARE)
        (cwd / "app.wf").write_text(APP)
        lua = cwd / "post.lua"
        lua.write_text(POST_LUA)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("WF_DATABASE_URL", None)
        env.pop("WF_REDIS_URL", None)

        bare_port, wf_port, wf2_port = free_port(), free_port(), free_port()
        base = f"http://127.0.0.1:{wf_port}/api/1.1/wf"
        targets = {
            a: f"http://127.0.0.1:{bare_port}/api/1.1/wf/pure",
            b: base + "/pure",
            c: base + "/create_hit",
        }
        if args.workers_2:
            targets[d] = f"http://127.0.0.1:{wf2_port}/api/1.1/wf/pure"

        def wf_cmd(port: int, workers: int) -> list[str]:
            serve = ["serve", "app.wf", "--port", str(port), "--no-access-log", "--workers", str(workers)]
            return [sys.executable, "-m", "wfkit.server.cli", *serve]

        with contextlib.ExitStack() as servers:
            pids = {a: servers.enter_context(server([sys.executable, "bare.py", str(bare_port)], cwd, targets[a], env))}
            pids[b] = pids[c] = servers.enter_context(server(wf_cmd(wf_port, 1), cwd, targets[b], env))
            if args.workers_2:
                folder = cwd / "two"  # its own data folder (and database)
                folder.mkdir()
                (folder / "app.wf").write_text(APP)
                pids[d] = servers.enter_context(server(wf_cmd(wf2_port, 2), folder, targets[d], env))
            for url in targets.values():
                wrk(url, lua, 2, args.connections)  # warm-up
            print(f"wrk -t1 -c{args.connections} -d{args.seconds}s, POST JSON; CPU: every process of the server")
            names = list(targets)
            results: dict[str, list[dict[str, float]]] = {name: [] for name in names}
            for r in range(args.rounds):
                order = names[r % len(names) :] + names[: r % len(names)]
                for name in order:
                    results[name].append(wrk(targets[name], lua, args.seconds, args.connections, pids[name]))
                base_rps = results[a][-1]["rps"]
                print(f"round {r + 1} (order {' '.join(n[0] for n in order)}):")
                for name in names:
                    m = results[name][-1]
                    print(
                        f"  {name:24} {m['rps']:9.0f} req/s   p50 {m['p50']:6.2f} ms   p99 {m['p99']:6.2f} ms   "
                        f"CPU {m['cpu_us']:6.1f} µs/req   ratio {m['rps'] / base_rps:4.2f}",
                        flush=True,
                    )
            if args.workers_2:
                scale = [m2["rps"] / m1["rps"] for m1, m2 in zip(results[b], results[d], strict=True)]
                cpu = [m2["cpu_us"] / m1["cpu_us"] for m1, m2 in zip(results[b], results[d], strict=True)]
                print(
                    f"--workers 2 / --workers 1, pure: throughput per round {' '.join(f'{x:.2f}' for x in scale)}, "
                    f"median {statistics.median(scale):.2f} (target ≥ 1.5 with the load generator on another "
                    f"machine; here wrk shares the 2 cores); CPU per request {' '.join(f'{x:.2f}' for x in cpu)}, "
                    f"median {statistics.median(cpu):.2f} (target: no growth)"
                )

            def ratios(name: str) -> list[float]:
                return [m["rps"] / base["rps"] for m, base in zip(results[name], results[a], strict=True)]

            print(
                f"b/a per round {' '.join(f'{x:.2f}' for x in ratios(b))}: median {statistics.median(ratios(b)):.2f} "
                f"(target ≥ 0.6)\nc/a per round {' '.join(f'{x:.2f}' for x in ratios(c))}: median "
                f"{statistics.median(ratios(c)):.2f} (target ≥ 0.3)"
            )
            if not args.tail_seconds:
                return
            print(f"\nfixed rate: {args.load:.0%} of each workflow's median capacity, hey -q, {args.tail_seconds} s")
            for name in (b, c):
                rate = args.load * statistics.median(m["rps"] for m in results[name])
                t = at_fixed_rate(targets[name], rate, args.tail_seconds)
                print(
                    f"  {name:24} asked {rate:7.0f} req/s, sent {t['sent']:7.0f}   p50 {t['p50']:6.2f} ms   "
                    f"p99 {t['p99']:6.2f} ms   p99.9 {t['p999']:6.2f} ms   max {t['max']:7.2f} ms   "
                    f"failed {t['failed']:.0f}   (targets: p99 < 20 ms, p99.9 < 50 ms)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
