"""`wf graph` (SPEC §4): a subgraph per workflow whose id is its name, statement ids that start with
it, edges from `schedule` and `call` to the target's subgraph and from each trigger to its
workflow, and a `fail … when` drawn as a branch. docs/graph.md shows what it prints."""

from __future__ import annotations

import re
from pathlib import Path

from wfkit.core.graph import mermaid
from wfkit.plugins.loader import load_app
from wfkit.testing import compile_source

ROOT = Path(__file__).resolve().parents[2]
EDGE = re.compile(r"^\s*(\S+) (-->|-\.->|==>)(?:\|\"([^\"]*)\"\|)? (\S+)$")

SRC = """
type Order {
  total: number
}
workflow checkout(total: number) {
  fail "nothing to pay" when total <= 0
  receipt = call price(total: total)
  schedule remind(total: total) in 1 day
  return { total: receipt.total }
}
workflow price(total: number) {
  return { total: total * 1.2 }
}
workflow remind(total: number) {
  log "remind {total}"
}
every 1 day at "09:00" run remind(total: 0)
on create Order run remind(total: this.total)
"""


def _structure(text: str) -> tuple[dict[str, str | None], list[tuple[str, str, str | None, str]], set[str]]:
    """Which subgraph each node is declared in, the edges (from, arrow, label, to), the subgraphs."""
    owner: dict[str, str | None] = {}
    edges = []
    subgraphs = set()
    current = None
    for line in text.splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("subgraph "):
            current = stripped.split()[1]
            subgraphs.add(current)
        elif stripped == "end":
            current = None
        elif m := EDGE.match(line):
            edges.append((m[1], m[2], m[3], m[4]))
        else:
            owner[re.split(r"[\[({>]", stripped, maxsplit=1)[0]] = current
    return owner, edges, subgraphs


def test_workflows_are_subgraphs_linked_by_schedule_call_and_triggers() -> None:
    text = mermaid(compile_source(SRC))
    assert text.startswith("flowchart TD\n")
    owner, edges, subgraphs = _structure(text)
    assert subgraphs == {"checkout", "price", "remind"}
    for node, subgraph in owner.items():
        if subgraph is not None:
            assert node.startswith(subgraph + "_"), node  # statement ids start with their workflow's
    between = [(a, arrow, label, b) for a, arrow, label, b in edges if b in subgraphs]
    assert (owner[between[0][0]], between[0][1:]) == ("checkout", ("==>", "calls", "price"))
    assert (owner[between[1][0]], between[1][1:]) == ("checkout", ("-.->", "schedules", "remind"))
    triggers = [(a, b) for a, _, _, b in between[2:]]
    assert [b for _, b in triggers] == ["remind", "remind"]
    assert all(owner[a] is None for a, _ in triggers)  # trigger nodes stand outside every workflow
    assert '>"every 1 day at 09:00 UTC"]' in text and '>"on create Order"]' in text


def test_fail_when_is_a_branch() -> None:
    owner, edges, _ = _structure(mermaid(compile_source(SRC), "checkout"))
    decision = "checkout_1_when"
    assert owner[decision] == "checkout"
    assert (decision, "-->", "yes", "checkout_1") in edges  # the run fails here
    assert (decision, "-->", "no", "checkout_2") in edges  # or goes on
    assert not [e for e in edges if e[0] == "checkout_1"]  # nothing follows the fail itself


def test_docs_show_the_example_apps_graph() -> None:
    doc = (ROOT / "docs" / "graph.md").read_text()
    block = doc.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert block == mermaid(load_app(str(ROOT / "examples" / "orders")))
