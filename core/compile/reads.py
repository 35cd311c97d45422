"""What compiled expressions call at run time to read a value: a reference's thing, a list item or
an object's key. (Operators' functions are in `wfkit.core.values`.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import values as V
from ..errors import RunError
from ..things import Thing

if TYPE_CHECKING:
    from ..frame import Frame


async def load_ref(f: Frame, type_name: str, value: Any) -> Any:
    """A reference's value: a thing (loaded through the store under the run's privacy)."""
    if value is None or isinstance(value, Thing):
        return value
    if isinstance(value, list):
        return [await load_ref(f, type_name, v) for v in value]
    store = f.services.store
    if store is None:
        raise RunError(f"cannot read a {type_name}: no data store is configured")
    return await store.get(type_name, str(value), f.run)


def read_index(v: Any, i: Any) -> Any:
    """`[i]`: a list item (from 0; negative from the end) or an object's key; empty when absent."""
    if v is None or i is None:
        return None
    if isinstance(v, list | str):
        if isinstance(i, bool) or not isinstance(i, int | float) or int(i) != i:
            raise RunError(f"a list index must be a whole number, got {V.text(i)!r}")
        try:
            return v[int(i)]
        except IndexError:
            return None
    if isinstance(v, dict):
        return v.get(i if isinstance(i, str) else V.text(i))
    raise RunError(f"cannot index {V.type_name(v)}")
