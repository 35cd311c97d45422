"""Secrets at rest (docs/security.md): values under secret names are sealed in journals and in
scheduled runs' arguments, with a key in the data folder, and scrubbed from logs and records."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from wfkit.core import journal as J
from wfkit.core import sealing
from wfkit.core import values as V
from wfkit.core.executor import Executor
from wfkit.core.sealing import Sealer, SealError
from wfkit.core.services import Services
from wfkit.plugins import ActionContext, ActionError, ActionSpec, ParamSpec, hookimpl
from wfkit.testing import compile_source

SECRET = "tok_Zq81mPw0aa"


@pytest.fixture(autouse=True)
def own_key() -> Iterator[None]:
    before = sealing.current()
    yield
    sealing._current = before


def test_seal_round_trip_and_tampering(tmp_path: Path) -> None:
    sealer = Sealer(os.urandom(32))
    box = sealer.seal({"token": SECRET, "n": [1, 2]})
    assert SECRET not in orjson.dumps(box).decode() and sealing.is_sealed(box)
    assert sealer.unseal(box["$sealed"]) == {"token": SECRET, "n": [1, 2]}
    assert sealer.seal("x") != sealer.seal("x")  # a nonce of its own each time
    with pytest.raises(SealError, match=r"not sealed with this data folder's secret\.key"):
        Sealer(os.urandom(32)).unseal(box["$sealed"])
    raw = bytearray(box["$sealed"].encode())
    raw[30] = ord("A") if raw[30] != ord("A") else ord("B")
    with pytest.raises(SealError):
        sealer.unseal(raw.decode())


def test_the_key_lives_in_the_data_folder(tmp_path: Path) -> None:
    folder = tmp_path / ".wf"
    key = sealing.load_key(folder)
    path = folder / sealing.KEY_FILE
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sealing.load_key(folder) == key and os.listdir(folder) == [sealing.KEY_FILE]  # kept, nothing left aside
    sealing.use_folder(folder)
    box = sealing.current().seal("v")
    sealing.use_folder(folder)  # another process on the same folder reads it
    assert sealing.current().unseal(box["$sealed"]) == "v"


def test_journal_encoding_seals_secret_names() -> None:
    value = {"token": SECRET, "user_id": "u1", "inner": {"api_key": SECRET, "n": 1}, "password": None}
    encoded = J.encode(value)
    text = orjson.dumps(encoded).decode()
    assert SECRET not in text and "u1" in text
    assert J.decode(encoded) == value
    whole = J.sealed("plain secret")
    assert "plain secret" not in orjson.dumps(whole).decode() and J.decode(whole) == "plain secret"
    entries = {"1": J.encode(value), "2": J.encode({"n": 1})}
    sealing._current = Sealer(os.urandom(32))  # another data folder's worker
    assert J.readable(entries) == {"2": entries["2"]}


def test_redact_json_at_any_depth() -> None:
    assert V.redact_json({"a": [{"token": "t", "b": 1}], "api_key": None, "n": {"password": 3}}) == {
        "a": [{"token": "[redacted]", "b": 1}],
        "api_key": None,
        "n": {"password": "[redacted]"},
    }
    assert V.redact({"session": {"token": "t"}, "password": "p", "n": 1}) == {
        "session": {"token": "[redacted]"},
        "password": "[redacted]",
        "n": 1,
    }


class Issuer:
    def __init__(self) -> None:
        self.calls = 0
        self.fail = True

    @hookimpl
    def register_actions(self) -> list[ActionSpec]:
        async def issue(ctx: ActionContext, target: Any, args: dict[str, Any]) -> Any:
            self.calls += 1
            return {"token": SECRET, "n": self.calls}

        async def flaky(ctx: ActionContext, target: Any, args: dict[str, Any]) -> Any:
            if self.fail:
                raise ActionError("not now")
            return None

        return [
            ActionSpec("test.issue", issue, result="object"),
            ActionSpec("test.flaky", flaky, params=(ParamSpec("n", "any"),)),
        ]


SOURCE = """
workflow main() {
  s = test.issue()
  log "got {s.token}"
  test.flaky(n: s.n)
  return { token: s.token }
}
"""


async def test_a_journaled_token_is_sealed_and_replayed() -> None:
    issuer = Issuer()
    app = compile_source(SOURCE, plugins=[issuer])
    services = Services()
    executor = Executor(app, services)
    first = await executor.run("main", {}, run_id="run-1")
    assert first.status == "failed" and first.logs[0]["message"] == "got [redacted]"
    kept = await services.journal.load("run-1")
    assert kept and SECRET not in orjson.dumps(kept).decode()
    issuer.fail = False
    second = await executor.run("main", {}, run_id="run-1")
    assert second.status == "success" and second.response == {"token": SECRET} and issuer.calls == 1  # replayed


async def test_a_journal_sealed_elsewhere_runs_the_action_again() -> None:
    issuer = Issuer()
    app = compile_source(SOURCE, plugins=[issuer])
    services = Services()
    executor = Executor(app, services)
    assert (await executor.run("main", {}, run_id="run-2")).status == "failed"
    sealing._current = Sealer(os.urandom(32))
    issuer.fail = False
    again = await executor.run("main", {}, run_id="run-2")
    assert again.status == "success" and issuer.calls == 2
