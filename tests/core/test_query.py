"""Search conditions evaluated in Python, and their simplification."""

from __future__ import annotations

from wfkit.core import query as Q
from wfkit.core.things import Thing

ORDER = Thing("Order", "o1", {"amount": 12, "paid": False, "tags": ["a", "b"], "owner": "u1", "note": ""})


def test_matches_comparisons_and_logic() -> None:
    assert Q.matches(Q.Cmp("amount", ">", 10), ORDER)
    assert not Q.matches(Q.Cmp("amount", "<=", 10), ORDER)
    assert Q.matches(Q.And((Q.Cmp("paid", "==", False), Q.Cmp("owner", "==", Thing("User", "u1")))), ORDER)
    assert Q.matches(Q.Or((Q.FALSE, Q.Cmp("tags", "contains", "b"))), ORDER)
    assert Q.matches(Q.Cmp("amount", "in", [1, 12]), ORDER)
    assert Q.matches(Q.Not(Q.Cmp("id", "==", "o2")), ORDER)
    assert Q.matches(Q.Empty("note"), ORDER) and Q.matches(Q.Empty("missing"), ORDER)
    assert not Q.matches(Q.Empty("tags"), ORDER) and Q.matches(Q.Empty("tags", negated=True), ORDER)
    assert not Q.matches(Q.Cmp("amount", ">", 1), None) and Q.matches(Q.TRUE, None)


def test_simplify_folds_constants() -> None:
    c = Q.Cmp("amount", ">", 1)
    assert Q.simplify(Q.And((Q.TRUE, c))) == c
    assert Q.simplify(Q.And((Q.FALSE, c))) == Q.FALSE
    assert Q.simplify(Q.Or((Q.TRUE, c))) == Q.TRUE
    assert Q.simplify(Q.Or((Q.FALSE, Q.FALSE))) == Q.FALSE
    assert Q.simplify(Q.Not(Q.And((Q.TRUE,)))) == Q.FALSE
    assert Q.simplify(Q.And((c, Q.Or((Q.FALSE, c))))) == Q.And((c, c))
