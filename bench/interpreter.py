"""Interpreter speed: per-statement cost of a pure workflow against plain Python doing the same
work in the same run, and the compile time of a generated 1,000-workflow app.

    python bench/interpreter.py [--rounds 5] [--statements 1000] [--runs 100] [--workflows 1000]

A statement is counted when it runs: the `let` inside the `if` runs only when its condition holds
(about one group in three), so each run's count comes from an untimed Python twin that follows the
same branches (checked against the run records' step counts). Each round times --runs runs of
each side, the two taking turns to go first; every round is printed, then the medians.

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

# One group = 4 statements that always run (three lets and the if) and the let inside the if, which
# runs only when the condition holds.
GROUP = """  let a = a + {i} * 2
  let s = "step {i}: a={{a}} b={{b}}"
  let c = (a - b) % 7
  if c == 0 or a % 3 == 0 {{
    let b = b + 1
  }}
"""


def pure_workflow(groups: int) -> str:
    body = "".join(GROUP.format(i=i) for i in range(groups))
    return f"workflow pure(seed: number) {{\n  let a = seed\n  let b = 0\n{body}  return {{ a: a, b: b }}\n}}\n"


def plain_python(seed: int, groups: int) -> dict[str, int]:
    """The workflow in Python: the baseline, timed."""
    a, b = seed, 0
    for i in range(groups):
        a = a + i * 2
        s = f"step {i}: a={a} b={b}"
        c = (a - b) % 7
        if c == 0 or a % 3 == 0:
            b = b + 1
    del s
    return {"a": a, "b": b}


def statements_run(seed: int, groups: int) -> int:
    """How many of the workflow's statements a run with `seed` runs (not timed)."""
    a, b = seed, 0
    ran = 3  # the two lets before the groups, and the return
    for i in range(groups):
        a = a + i * 2
        c = (a - b) % 7
        ran += 4
        if c == 0 or a % 3 == 0:
            b = b + 1
            ran += 1
    return ran


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


async def wfkit_round(executor: Executor, seeds: range, ran: dict[int, int]) -> list[float]:
    """Seconds per statement that ran, of each run."""
    out = []
    for seed in seeds:
        t0 = time.perf_counter()
        record = await executor.run("pure", {"seed": seed})
        out.append((time.perf_counter() - t0) / ran[seed])
        assert record.status == "success", record.error
    return out


def python_round(seeds: range, groups: int, ran: dict[int, int]) -> list[float]:
    out = []
    for seed in seeds:
        t0 = time.perf_counter()
        plain_python(seed, groups)
        out.append((time.perf_counter() - t0) / ran[seed])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--statements", type=int, default=1000, help="about this many written statements")
    ap.add_argument("--runs", type=int, default=100, help="runs of each side per round")
    ap.add_argument("--workflows", type=int, default=1000)
    args = ap.parse_args()

    groups = max(1, args.statements // 5)
    app = build_app({"pure.wf": pure_workflow(groups)})
    executor = Executor(app, Services())
    seeds = range(args.rounds * args.runs)
    ran = {}
    for seed in seeds:  # the statements each run runs; the first runs' results checked
        ran[seed] = statements_run(seed, groups)
        if seed < 20:
            expected = plain_python(seed, groups)
            check = asyncio.run(executor.run("pure", {"seed": seed}))
            assert check.response == expected, (check.response, expected)
            assert len(check.steps) + check.steps_dropped == ran[seed]  # the run's record counts the same
    mean_ran = statistics.fmean(ran.values())
    print(
        f"pure workflow: {groups * 5 + 3} statements written, {mean_ran:.0f} run on average; {args.runs} runs a round"
    )
    per_round = []
    loop = asyncio.new_event_loop()
    try:
        for r in range(args.rounds):
            part = seeds[r * args.runs : (r + 1) * args.runs]
            wfkit_first = r % 2 == 0
            if wfkit_first:
                wf = loop.run_until_complete(wfkit_round(executor, part, ran))
            py = python_round(part, groups, ran)
            if not wfkit_first:
                wf = loop.run_until_complete(wfkit_round(executor, part, ran))
            wf_us, py_us = statistics.median(wf) * 1e6, statistics.median(py) * 1e6
            per_round.append((wf_us, py_us))
            first = "wfkit" if wfkit_first else "python"
            print(
                f"  round {r + 1} ({first} first): wfkit {wf_us:6.3f} µs/statement   plain Python {py_us:6.3f} "
                f"µs/statement   ratio {wf_us / py_us:5.1f}x   overhead {wf_us - py_us:5.2f} µs"
            )
    finally:
        loop.close()
    wf_med = statistics.median(w for w, _ in per_round)
    overhead = statistics.median(w - p for w, p in per_round)
    ratio = statistics.median(w / p for w, p in per_round)
    print(
        f"  median: wfkit {wf_med:.3f} µs/statement, {ratio:.1f}x plain Python, overhead {overhead:.2f} µs (target ≤ 5)"
    )

    app_src = generated_app(args.workflows)
    compile_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        big = build_app({"big.wf": app_src})
        compile_times.append(time.perf_counter() - t0)
    assert len(big.workflows) == args.workflows
    lines = app_src.count("\n")
    print(
        f"compile: {args.workflows} workflows, {lines} lines: "
        + ", ".join(f"{t:.3f} s" for t in compile_times)
        + f" (best {min(compile_times):.3f} s; target < 1 s)"
    )


if __name__ == "__main__":
    main()
