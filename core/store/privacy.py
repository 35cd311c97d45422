"""Privacy rules (docs/language.md §5) for one run and one type: which things it finds, which fields it sees.

The rules' conditions are built once per read with the run's `current_user`; `search` turns them
into SQL (a thing is found only when a rule granting `search` holds), reads check them in Python
(`query.matches`) on the loaded things to list the fields the run may not view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wfkit.core import query as Q
from wfkit.core.app import App, PrivacyRuleInfo
from wfkit.core.context import RunInfo
from wfkit.core.frame import Frame
from wfkit.core.services import Services
from wfkit.core.things import BUILTIN_FIELDS, Thing

if TYPE_CHECKING:
    from .sql import Builder


@dataclass(frozen=True, slots=True)
class Rule:
    cond: Q.Cond
    info: PrivacyRuleInfo

    def shows(self, name: str) -> bool:
        return self.info.view_all or name in self.info.view


@dataclass(frozen=True, slots=True)
class Access:
    """The rules of one type as they apply to one run."""

    rules: tuple[Rule, ...]
    fields: tuple[str, ...]  # the type's declared fields

    def search_cond(self) -> Q.Cond:
        return Q.simplify(Q.Or(tuple(r.cond for r in self.rules if r.info.search)))

    def view_cond(self, name: str) -> Q.Cond:
        return Q.simplify(Q.Or(tuple(r.cond for r in self.rules if r.shows(name))))

    def guard(self, b: Builder) -> Any:
        """For `Builder.guard`: the SQL saying the run may view a field, None when it always may."""
        cache: dict[str, str | None] = {}

        def visible(name: str) -> str | None:
            if name in BUILTIN_FIELDS:
                return None
            if name not in cache:
                cond = self.view_cond(name)
                cache[name] = None if cond == Q.TRUE else b.unguarded(cond)
            return cache[name]

        return visible

    def allows(self, thing: Thing, grant: str) -> bool:
        """Whether a rule that holds for `thing` grants `grant` ("search", "change", "delete")."""
        return any(getattr(r.info, grant) and Q.matches(r.cond, thing) for r in self.rules)

    def hidden(self, thing: Thing) -> frozenset[str] | None:
        """The fields this run may not view, or None when no rule lets it see the thing at all."""
        holding = [r.info for r in self.rules if Q.matches(r.cond, thing)]
        if not holding:
            return None
        if any(r.view_all for r in holding):
            return frozenset()
        shown: set[str] = set()
        for r in holding:
            shown |= r.view
        if not shown and not any(r.search for r in holding):
            return None
        return frozenset(f for f in self.fields if f not in shown)


async def access_for(app: App, type_name: str, run: RunInfo | None, services: Services) -> Access | None:
    """The rules of `type_name` for `run`; None when privacy does not apply (no rules, admin runs
    and `@ignore_privacy` workflows)."""
    if run is None or run.ignore_privacy:
        return None
    info = app.privacy.get(type_name)
    if info is None:
        return None
    frame: Frame | None = None
    rules = []
    for r in info.rules:
        if r.cond is None:
            cond: Q.Cond = Q.TRUE
        else:
            frame = frame or services.frame(run)
            built = r.cond.build(frame)
            cond = await built if r.cond.is_async else built
        rules.append(Rule(Q.simplify(no_empty_match(cond)), r))
    type_info = app.types.get(type_name)
    fields = tuple(type_info.fields) if type_info is not None else ()
    return Access(tuple(rules), fields)


def no_empty_match(cond: Q.Cond) -> Q.Cond:
    """In a rule, `this.f == X` does not hold when X is empty: an anonymous caller
    (`current_user` empty) owns nothing, even things whose owner is empty. (`is empty` still
    tests emptiness.)"""
    if isinstance(cond, Q.Cmp) and cond.op == "==" and cond.value is None:
        return Q.FALSE
    if isinstance(cond, Q.And | Q.Or):
        return type(cond)(tuple(no_empty_match(p) for p in cond.parts))
    if isinstance(cond, Q.Not):
        return Q.Not(no_empty_match(cond.part))
    return cond
