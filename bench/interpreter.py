"""Interpreter speed: per-statement cost of a pure workflow against plain Python doing the same
work in the same run, and the compile time of a generated 1,000-workflow app.

    python bench/interpreter.py [--statements 1000] [--runs 200] [--workflows 1000]

Targets (issue 2): ≤ 5 µs per statement; < 1 s to compile 1,000 workflows.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py would hide the standard library's `http` from this script's imports: leave the
# bench folder off sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import statistics
import time

from wfkit.core.executor import Executor
from wfkit.core.services import Services
from wfkit.plugins.loader import build_app

# One group = 5 statements: three lets, an if, and the let inside it (which runs 1 time in 3).
GROUP = """  let a = a + {i} * 2
  let s = "step {i}: a={{a}} b={{b}}"
  let c = (a - b) % 7
  if c == 0 or a % 3 == 0 {{
    let b = b + 1
  }}
"""


def pure_workflow(statements: int) -> tuple[str, int]:
    groups = max(1, statements // 5)
    body = "".join(GROUP.format(i=i) for i in range(groups))
    src = f"workflow pure(seed: number) {{\n  let a = seed\n  let b = 0\n{body}  return {{ a: a, b: b }}\n}}\n"
    return src, groups * 5 + 3


def plain_python(seed: int, groups: int) -> dict[str, int]:
    a, b = seed, 0
    for i in range(groups):
        a = a + i * 2
        s = f"step {i}: a={a} b={b}"
        c = (a - b) % 7
        if c == 0 or a % 3 == 0:
            b = b + 1
    del s
    return {"a": a, "b": b}


def generated_app(workflows: int) -> str:
    parts = ["type Item {\n  name: text\n  qty: number = 0\n}\n"]
    for i in range(workflows):
        nxt = f"w{i + 1}" if i + 1 < workflows else "w0"
        parts.append(
            f'@exposed\nworkflow w{i}(n: number, label: text = "x", items: list of number?) {{\n'
            f"  let total = n * {i} + count(items)\n"
            f'  log "w{i} {{label}} {{total}}" when total > 10\n'
            f"  if total > 100 {{\n    schedule {nxt}(n: total - 1) in 1 minute\n  }}\n"
            f"  return {{ total: total, name: upper(label) }}\n}}\n"
        )
    return "".join(parts)


async def time_runs(executor: Executor, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        record = await executor.run("pure", {"seed": i})
        times.append(time.perf_counter() - t0)
        assert record.status == "success", record.error
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--statements", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--workflows", type=int, default=1000)
    args = ap.parse_args()

    src, n_statements = pure_workflow(args.statements)
    groups = (n_statements - 3) // 5
    app = build_app({"pure.wf": src})
    executor = Executor(app, Services())
    expected = plain_python(7, groups)
    check = asyncio.run(executor.run("pure", {"seed": 7}))
    assert check.response == expected, (check.response, expected)

    wf_times = asyncio.run(time_runs(executor, args.runs))
    py_times = []
    for i in range(args.runs):
        t0 = time.perf_counter()
        plain_python(i, groups)
        py_times.append(time.perf_counter() - t0)
    wf_med, py_med = statistics.median(wf_times), statistics.median(py_times)
    per_stmt = wf_med / n_statements * 1e6
    overhead = (wf_med - py_med) / n_statements * 1e6
    print(f"pure workflow: {n_statements} statements, {args.runs} runs (median)")
    print(f"  wfkit        {wf_med * 1e3:8.3f} ms/run   {per_stmt:6.2f} µs/statement")
    print(f"  plain Python {py_med * 1e3:8.3f} ms/run   {py_med / n_statements * 1e6:6.2f} µs/statement")
    print(f"  ratio wfkit/python {wf_med / py_med:6.1f}x   overhead {overhead:5.2f} µs/statement (target ≤ 5)")

    app_src = generated_app(args.workflows)
    compile_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        big = build_app({"big.wf": app_src})
        compile_times.append(time.perf_counter() - t0)
    assert len(big.workflows) == args.workflows
    lines = app_src.count("\n")
    best = min(compile_times)
    print(f"compile: {args.workflows} workflows, {lines} lines: {best:.3f} s (best of 3; target < 1 s)")


if __name__ == "__main__":
    main()
