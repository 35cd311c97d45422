"""Writing things: create, change, delete, and a new app's defaults for the things already stored.

Every thing lives in one table (`things`, a JSON `data` column; see models.py). A User thing also has
a row in `users` (its unique email and password hash) written in the same transaction. Listeners
(database triggers) hear of each change once it is committed. A write given an `Effect` (by a run
that can be resumed) records its result in the same transaction, and replays it when resumed
(effects.py).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from wfkit.core import journal as J
from wfkit.core.app import App, FieldInfo, TypeInfo
from wfkit.core.context import RunInfo
from wfkit.core.errors import ActionError
from wfkit.core.services import Services
from wfkit.core.things import BUILTIN_FIELDS, Thing
from wfkit.core.types import ListType, ThingType

from . import sql as S
from .batching import InsertBatcher
from .codec import check, column_json, normalize_email, now_iso
from .effects import Effect, Effects
from .models import new_thing_id
from .reads import ThingReader

logger = logging.getLogger("wfkit.store")

Listener = Callable[[str, str, Thing | None, Thing | None], Any]
"""`listener(event, type_name, before, after)`, event "create" | "change" | "delete"; may be async."""


class ThingWriter(ThingReader):
    """Things read and written; `listeners` hear of every write."""

    def __init__(self, app: App | None, services: Services) -> None:
        super().__init__(app, services)
        self.listeners: list[Listener] = []
        self.effects = Effects(self)
        self.batcher = InsertBatcher(self, self.effects.insert)

    async def close(self) -> None:
        if self._ctx is not None:
            await self.effects.flush()
        await super().close()

    # ------------------------------------------------------------------ the app

    async def use_app(self, app: App) -> None:
        """Serve `app` from now on. The database keeps what it holds: a new type or field needs no
        change, a field that is gone stays stored (and comes back if the field does). A field new to
        this database that has a default gets it on the things that existed before it."""
        self.app = app
        self.types = app.types
        self._index_checked.clear()
        rows = await self.query('SELECT "value" FROM "wf_meta" WHERE "key" = ' + self.dialect.param(1), ["fields"])
        known: dict[str, list[str]] = column_json(rows[0]["value"]) if rows else {}
        for type_name, info in app.types.items():
            old = set(known.get(type_name, ()))
            for name, fi in info.fields.items():
                if name not in old and fi.default is not None:
                    await self._backfill(type_name, name, fi)
        fields = {name: sorted(info.fields) for name, info in app.types.items()}
        value = orjson.dumps({**known, **fields}).decode()
        p1, p2 = self.dialect.param(1), self.dialect.param(2)
        cast = "::jsonb" if self.dialect.name == "postgres" else ""
        # An upsert: `wf serve --workers N` opens the store in N processes at once.
        await self.execute(
            f'INSERT INTO "wf_meta" ("key", "value") VALUES ({p1}, {p2}{cast}) '
            'ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value"',
            ["fields", value],
        )

    async def _backfill(self, type_name: str, name: str, fi: FieldInfo) -> None:
        assert fi.default is not None
        value = fi.default.fn(self.services.frame())
        if inspect.isawaitable(value):
            value = await value
        stored = check(type_name, name, fi.type, value)
        if stored is None:
            return
        b = S.Builder(self.dialect, {}, type_name)
        new_data = self.dialect.set_data(b, {name: stored})
        p_type = b.bind(type_name)
        if self.dialect.name == "postgres":
            missing = f"NOT (\"data\" ? '{S.check_name(name)}')"
        else:
            missing = f"json_type(\"data\",'$.{S.check_name(name)}') IS NULL"
        n = await self.execute(
            f'UPDATE "things" SET "data" = {new_data} WHERE "type" = {p_type} AND {missing}', b.params
        )
        if n:
            logger.info("gave %d existing %s things the default of the new field %s", n, type_name, name)

    # ------------------------------------------------------------------ writing

    async def create(
        self,
        type_name: str,
        values: Mapping[str, Any] | None = None,
        *,
        run: RunInfo | None = None,
        password_hash: str | None = None,
        effect: Effect | None = None,
    ) -> Thing:
        """A new thing of `type_name`: the given fields checked against their types, the others
        their default or empty. The result is what `run` may see of it."""
        if (replayed := await self.replay(effect, run)) is not None:
            return replayed
        info = self.type_info(type_name)
        given = dict(values or {})
        data = await self._encode(info, given)
        frame = None
        for name, fi in info.fields.items():
            if name in data:
                continue
            value = None
            if fi.default is not None:
                frame = frame or self.services.frame(run)
                value = fi.default.fn(frame)
                if inspect.isawaitable(value):
                    value = await value
            data[name] = check(type_name, name, fi.type, value)
        now = now_iso()
        user = run.user.id if run is not None and run.user is not None else None
        row: dict[str, Any] = {"id": new_thing_id(), "type": type_name, "data": data}
        row.update(created_at=now, modified_at=now, created_by=user)
        if type_name == "User":
            data["email"] = normalize_email(data.get("email"))
        thing = self.thing_from_row({**row, "data": data})
        done = self.effects.row(effect, J.encode(thing)) if effect is not None else None
        try:
            if type_name == "User":
                async with self.transaction() as tx:
                    if done is not None:  # first: a concurrent attempt's row refuses this one, not the email
                        await self.effects.insert(tx, [done])
                    await self._insert_user(tx, row["id"], data["email"], password_hash)
                    await self._insert(tx, row)
            else:
                await self.batcher.insert(row, done)  # group commit with the creates arriving meanwhile
        except IntegrityError:
            if (found := await self._found_after_conflict(effect)) is None:
                raise
            return await self._seen_or_masked(J.decode(found), run)
        await self._emit("create", type_name, None, thing)
        return await self._seen_or_masked(thing, run)

    async def replay(self, effect: Effect | None, run: RunInfo | None) -> Thing | None:
        """The thing an earlier attempt of a resumed run wrote for this effect, as `run` sees it."""
        found = await self.effects.find(effect)
        return await self._seen_or_masked(J.decode(found), run) if found is not None else None

    async def _found_after_conflict(self, effect: Effect | None) -> Any:
        """After a write refused by its effect's key (another attempt of the run did it meanwhile):
        what that attempt recorded."""
        if effect is None:
            return None
        effect.look = True
        return await self.effects.find(effect)

    async def _insert(self, tx: BaseDBAsyncClient, row: dict[str, Any]) -> None:
        d = self.dialect
        cast = "::jsonb" if d.name == "postgres" else ""
        ps = [d.param(i) for i in range(1, 7)]
        await self.execute(
            'INSERT INTO "things" ("id", "type", "data", "created_at", "modified_at", "created_by") '
            f"VALUES ({ps[0]}, {ps[1]}, {ps[2]}{cast}, {ps[3]}, {ps[4]}, {ps[5]})",
            [
                row["id"],
                row["type"],
                orjson.dumps(row["data"]).decode(),
                row["created_at"],
                row["modified_at"],
                row["created_by"],
            ],
            on=tx,
        )

    async def _insert_user(self, tx: BaseDBAsyncClient, id: str, email: str, password_hash: str | None) -> None:
        d = self.dialect
        try:
            await self.execute(
                'INSERT INTO "users" ("id", "email", "password_hash") '
                f"VALUES ({d.param(1)}, {d.param(2)}, {d.param(3)})",
                [id, email, password_hash],
                on=tx,
            )
        except IntegrityError:
            raise ActionError(f"the email {email} is already taken") from None

    async def _encode(self, info: TypeInfo, values: Mapping[str, Any]) -> dict[str, Any]:
        """Given field values, checked and in their stored form; references must name things."""
        out: dict[str, Any] = {}
        refs: dict[str, set[str]] = {}
        for name, value in values.items():
            if name in BUILTIN_FIELDS:
                raise ActionError(f"{info.name}.{name} is set by wfkit and cannot be written")
            fi = info.fields.get(name)
            if fi is None:
                if info.name == "User" and name == "password":
                    raise ActionError("a password is set with sign_up, not as a field")
                raise ActionError(f"{info.name} has no field '{name}'")
            stored = check(info.name, name, fi.type, value)
            out[name] = stored
            ref = fi.type.item if isinstance(fi.type, ListType) else fi.type
            if isinstance(ref, ThingType) and stored is not None:
                items = value if isinstance(value, list) else [value]
                ids = {x for x in items if isinstance(x, str)}  # things given as things were loaded
                if ids:
                    refs.setdefault(ref.name, set()).update(ids)
        for type_name, ids in refs.items():
            await self._check_refs(type_name, ids)
        return out

    async def _check_refs(self, type_name: str, ids: set[str]) -> None:
        b = S.Builder(self.dialect, {}, type_name)
        p_type = b.bind(type_name)
        ps = ", ".join(b.bind(i) for i in sorted(ids))
        rows = await self.query(f'SELECT "id" FROM "things" WHERE "type" = {p_type} AND "id" IN ({ps})', b.params)
        missing = sorted(ids - {r["id"] for r in rows})
        if missing:
            raise ActionError(f"there is no {type_name} with the id {missing[0]!r}")

    async def change(
        self,
        target: Thing | str,
        values: Mapping[str, Any],
        *,
        type_name: str | None = None,
        run: RunInfo | None = None,
        effect: Effect | None = None,
    ) -> Thing:
        """Set the given fields of one thing (the others keep their values); returns it as `run`
        sees it. A workflow's own changes are not subject to privacy (docs/language.md §5)."""
        if (replayed := await self.replay(effect, run)) is not None:
            return replayed
        type_name, id = _type_and_id(target, type_name)
        info = self.type_info(type_name)
        changes = await self._encode(info, values)
        if type_name == "User" and "email" in changes:
            changes["email"] = normalize_email(changes["email"])
        d = self.dialect
        lock = " FOR UPDATE" if d.name == "postgres" else ""
        try:
            async with self.transaction() as tx:
                rows = await self.query(
                    f'{S.SELECT} WHERE "id" = {d.param(1)} AND "type" = {d.param(2)}{lock}', [id, type_name], on=tx
                )
                if not rows:
                    raise ActionError(f"there is no {type_name} with the id {id!r} (was it deleted?)")
                before = self.thing_from_row(rows[0])
                if not changes:
                    return await self._seen_or_masked(before, run)
                b = S.Builder(d, {}, type_name)
                new_data = d.set_data(b, changes)
                p_now, p_id = b.bind(now_iso()), b.bind(id)
                after_rows = await self.query(
                    f'UPDATE "things" SET "data" = {new_data}, "modified_at" = {p_now} WHERE "id" = {p_id} '
                    'RETURNING "id", "type", "data", "created_at", "modified_at", "created_by"',
                    b.params,
                    on=tx,
                )
                if "email" in changes and type_name == "User":
                    try:
                        await self.execute(
                            f'UPDATE "users" SET "email" = {d.param(1)} WHERE "id" = {d.param(2)}',
                            [changes["email"], id],
                            on=tx,
                        )
                    except IntegrityError:
                        raise ActionError(f"the email {changes['email']} is already taken") from None
                after = self.thing_from_row(after_rows[0])
                if effect is not None:
                    await self.effects.insert(tx, [self.effects.row(effect, J.encode(after))])
        except IntegrityError:  # the effect's key: another attempt of the run changed it meanwhile
            if (found := await self._found_after_conflict(effect)) is None:
                raise
            return await self._seen_or_masked(J.decode(found), run)
        await self._emit("change", type_name, before, after)
        return await self._seen_or_masked(after, run)

    async def delete(
        self,
        targets: Thing | str | Iterable[Thing | str],
        *,
        type_name: str | None = None,
        run: RunInfo | None = None,
        effect: Effect | None = None,
    ) -> int:
        """Delete things (ids need `type_name`), all in one transaction; things already gone are
        skipped. Returns how many were deleted. References to them read as empty from now on."""
        if (found := await self.effects.find(effect)) is not None:
            return int(found)
        items = [targets] if isinstance(targets, Thing | str) else list(targets)
        by_type: dict[str, list[str]] = {}
        for item in items:
            if item is None:
                continue
            t, id = _type_and_id(item, type_name)
            by_type.setdefault(t, []).append(id)
        if not by_type and effect is None:
            return 0
        deleted: list[Thing] = []
        try:
            async with self.transaction() as tx:
                for t, ids in by_type.items():
                    for chunk in _chunks(sorted(set(ids)), 500):
                        deleted += await self._delete_chunk(tx, t, chunk)
                if effect is not None:
                    await self.effects.insert(tx, [self.effects.row(effect, len(deleted))])
        except IntegrityError:  # the effect's key: another attempt of the run deleted them meanwhile
            if (found := await self._found_after_conflict(effect)) is None:
                raise
            return int(found)
        for thing in deleted:
            await self._emit("delete", thing.type, thing, None)
        return len(deleted)

    async def _delete_chunk(self, tx: BaseDBAsyncClient, type_name: str, ids: list[str]) -> list[Thing]:
        b = S.Builder(self.dialect, {}, type_name)
        p_type = b.bind(type_name)
        ps = ", ".join(b.bind(i) for i in ids)
        rows = await self.query(
            f'DELETE FROM "things" WHERE "type" = {p_type} AND "id" IN ({ps}) '
            'RETURNING "id", "type", "data", "created_at", "modified_at", "created_by"',
            b.params,
            on=tx,
        )
        if type_name == "User" and rows:  # their credentials and tokens go with them
            pu = S.Builder(self.dialect, {})
            ps_u = ", ".join(pu.bind(r["id"]) for r in rows)
            await self.execute(f'DELETE FROM "users" WHERE "id" IN ({ps_u})', pu.params, on=tx)
            await self.execute(
                f'DELETE FROM "tokens" WHERE "kind" = \'user\' AND "user_id" IN ({ps_u})', pu.params, on=tx
            )
        return [self.thing_from_row(r) for r in rows]

    async def _emit(self, event: str, type_name: str, before: Thing | None, after: Thing | None) -> None:
        """Tell the listeners (database triggers) after the change is committed; a listener that
        fails is logged and skipped: the change stands."""
        for listener in list(self.listeners):
            try:
                result = listener(event, type_name, before, after)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("a store listener failed on %s %s", event, type_name)


def _type_and_id(target: Thing | str, type_name: str | None) -> tuple[str, str]:
    if isinstance(target, Thing):
        return target.type, target.id
    if isinstance(target, str) and type_name is not None:
        return type_name, target
    raise ActionError(f"expected a thing, got {target!r}")


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
