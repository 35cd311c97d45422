"""Parse speed: `python bench/parse.py [N]` parses two generated apps of N workflows,
one of five short statements each and one of seven longer ones (searches, interpolations),
and prints the best of five CPU times."""

from __future__ import annotations

import sys
import time
from typing import Any


def generate(n: int) -> str:
    """An app of `n` workflows of about five statements each, plus a type and a trigger."""
    out = ["type Order {\n  title: text\n  amount: number = 0\n  tags: list of text\n}\n"]
    for i in range(n):
        out.append(
            f"@exposed\nworkflow w{i}(title: text, amount: number = 1, notify: boolean = false) {{\n"
            f'  if amount <= 0 {{\n    fail "amount must be positive, got {{amount}}"\n  }}\n'
            f"  order = create Order(title: title, amount: amount * 2 + 1)\n"
            f'  send_email(to: "ops@example.com", subject: "New: {{order.title}}") when notify\n'
            f'  let stale = search Order where amount < 10 and title != "x" order by amount desc limit 5\n'
            f"  r = schedule w{i}(title: title, amount: amount - 1) in 2 days when amount > 1\n"
            f'  return {{ id: order.id, count: count(stale), tags: ["a", "b"] }}\n}}\n'
        )
    out.append('every 1 day at "03:00" run w0(title: "x")\n')
    return "".join(out)


def generate_small(n: int) -> str:
    """An app of `n` workflows of five short statements each."""
    out = ["type Order {\n  title: text\n  amount: number = 0\n  tags: list of text\n}\n"]
    for i in range(n):
        out.append(
            f"workflow w{i}(order: Order, n: number = 0) {{\n"
            f'  log "processing {{order.id}}"\n'
            f"  let total = order.amount * 2\n"
            f'  send_email(to: order.owner.email, subject: "Big order") when total > 100\n'
            f'  change order(tags: order.tags + ["seen"])\n'
            f"  return {{ total: total }}\n}}\n"
        )
    return "".join(out)


def main() -> None:
    started = time.perf_counter()
    from wfkit.dsl import parse

    imported = time.perf_counter() - started
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    for text in (generate_small(n), generate(n)):
        measure(parse, n, text)
    print(f"import {imported * 1000:.0f} ms")


def measure(parse: Any, n: int, text: str) -> None:
    best = float("inf")
    for _ in range(5):  # best of 5, in CPU time: other processes share the machine
        t = time.process_time()
        result = parse(text, "bench.wf")
        best = min(best, time.process_time() - t)
    assert not result.diagnostics, result.diagnostics[:3]
    lines = text.count("\n")
    print(f"{n} workflows, {lines} lines, {len(text)} chars: {best * 1000:.0f} ms")


if __name__ == "__main__":
    main()
