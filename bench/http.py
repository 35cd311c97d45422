"""HTTP throughput and latency, in one run on one machine, with wrk (Debian package `wrk`):

  (a) bare Sanic answering the same JSON          — the baseline
  (b) `wf serve` running a pure workflow           (params → let → return)
  (c) `wf serve` running a workflow that creates a thing in SQLite

    python bench/http.py [--rounds 3] [--seconds 10] [--connections 16]

Both servers run at once, one process each with the access log off, and are warmed up; then each
round measures a, b and c one after the other, the order turning each round (a b c, b c a, c a b),
so that no side always goes first or last. wrk runs one thread. Every measurement is printed (req/s,
p50 and p99 latency, its ratio to the same round's a), then the median of the rounds' ratios b/a
and c/a. Targets (issue 4): b/a ≥ 0.5, c/a ≥ 0.25, p99 < 20 ms.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/http.py`, this file's folder comes first on sys.path and its name would hide
# the standard library's `http` package from httpx: leave the folder out.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
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
def server(cmd: list[str], cwd: Path, url: str, env: dict[str, str]) -> Iterator[None]:
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
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, lua: Path, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(lua), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {}
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        assert m, out
        lat[pct] = float(m.group(1)) * UNITS[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} non-2xx answers:\n{out}")
    return {"rps": rps, "p50": lat["50"], "p99": lat["99"]}


def main() -> None:
    ap = argparse.ArgumentParser(description="HTTP benchmark: bare Sanic vs wf serve")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")

    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        (cwd / "bare.py").write_text(BARE)
        (cwd / "app.wf").write_text(APP)
        lua = cwd / "post.lua"
        lua.write_text(POST_LUA)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("WF_DATABASE_URL", None)
        env.pop("WF_REDIS_URL", None)

        bare_port, wf_port = free_port(), free_port()
        base = f"http://127.0.0.1:{wf_port}/api/1.1/wf"
        targets = {
            "a bare Sanic": f"http://127.0.0.1:{bare_port}/api/1.1/wf/pure",
            "b wf: pure workflow": base + "/pure",
            "c wf: create in SQLite": base + "/create_hit",
        }
        wf_cmd = [
            sys.executable,
            "-m",
            "wfkit.server.cli",
            "serve",
            "app.wf",
            "--port",
            str(wf_port),
            "--no-access-log",
        ]
        with (
            server([sys.executable, "bare.py", str(bare_port)], cwd, targets["a bare Sanic"], env),
            server(wf_cmd, cwd, base + "/pure", env),
        ):
            for url in targets.values():
                wrk(url, lua, 2, args.connections)  # warm-up
            print(f"wrk -t1 -c{args.connections} -d{args.seconds}s, POST JSON, one server process each")
            names = list(targets)
            results: dict[str, list[dict[str, float]]] = {name: [] for name in names}
            for r in range(args.rounds):
                order = names[r % 3 :] + names[: r % 3]
                for name in order:
                    results[name].append(wrk(targets[name], lua, args.seconds, args.connections))
                base_rps = results["a bare Sanic"][-1]["rps"]
                print(f"round {r + 1} (order {' '.join(n[0] for n in order)}):")
                for name in names:
                    m = results[name][-1]
                    print(
                        f"  {name:24} {m['rps']:9.0f} req/s   p50 {m['p50']:6.2f} ms   p99 {m['p99']:6.2f} ms   "
                        f"ratio {m['rps'] / base_rps:4.2f}"
                    )

    def ratio(name: str) -> float:
        return statistics.median(
            m["rps"] / a["rps"] for m, a in zip(results[name], results["a bare Sanic"], strict=True)
        )

    def p99(name: str) -> float:
        return statistics.median(m["p99"] for m in results[name])

    b, c = "b wf: pure workflow", "c wf: create in SQLite"
    print(
        f"median of {args.rounds} rounds: b/a = {ratio(b):.2f} (target ≥ 0.5)   c/a = {ratio(c):.2f} (target ≥ 0.25)   "
        f"p99 b {p99(b):.1f} ms, c {p99(c):.1f} ms (target < 20 ms)"
    )


if __name__ == "__main__":
    main()
