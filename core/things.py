"""The run-time value of a thing (an instance of a declared type, or a User)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

BUILTIN_FIELDS = ("id", "created_at", "modified_at", "created_by")


@dataclass(slots=True, eq=False)
class Thing:
    """A thing as a run sees it. `data` holds the declared fields (a reference is the other
    thing's id until read); `hidden` names fields privacy hides from this run (they read as empty)."""

    type: str
    id: str
    data: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    modified_at: datetime | None = None
    created_by: str | None = None
    hidden: frozenset[str] = frozenset()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Thing):
            return self.type == other.type and self.id == other.id
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.type, self.id))

    def __repr__(self) -> str:
        return f"<{self.type} {self.id}>"
