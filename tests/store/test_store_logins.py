"""log_in throttling (docs/security.md): 10 failures for one email within 15 minutes refuse every
attempt, the right password too, until the window has passed; a success resets the count. Wrong
emails and wrong passwords cost one argon2 verification each and read the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from wfkit.core.errors import ActionError, RateLimitedError
from wfkit.core.store import Store, users
from wfkit.core.store.codec import iso
from wfkit.core.store.users import Users
from wfkit.testing import compile_source, run_workflow

PASSWORD = "correct horse battery"


async def _fail(store: Store, email: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(ActionError, match=r"^wrong email or password$"):
            await store.users.log_in(email, "wrong password")


async def test_the_eleventh_attempt_is_refused_even_with_the_right_password(store: Store) -> None:
    await store.users.sign_up("ann@example.com", PASSWORD)
    await _fail(store, "ann@example.com", 10)
    with pytest.raises(RateLimitedError) as refused:
        await store.users.log_in("Ann@Example.com ", PASSWORD)  # the same email, written otherwise
    assert str(refused.value).startswith("too many failed log-ins for this email")
    assert refused.value.status == "RATE_LIMITED" and refused.value.code == 429
    assert 14 * 60 < refused.value.retry_after <= 15 * 60
    # Another process sees the same count: it is kept in the database, not in this object.
    with pytest.raises(RateLimitedError):
        await Users(store).log_in("ann@example.com", PASSWORD)
    # Once the window has passed, the right password works again.
    passed = iso(datetime.now(UTC) - timedelta(minutes=16))
    await store.execute(f'UPDATE "login_failures" SET "since" = {store.dialect.param(1)}', [passed])
    assert (await store.users.log_in("ann@example.com", PASSWORD))["token"].startswith("wfu_")


async def test_a_success_resets_the_count(store: Store) -> None:
    await store.users.sign_up("ann@example.com", PASSWORD)
    await _fail(store, "ann@example.com", 9)
    await store.users.log_in("ann@example.com", PASSWORD)
    await _fail(store, "ann@example.com", 9)
    await store.users.log_in("ann@example.com", PASSWORD)  # 18 failures, none 10 in a row
    await _fail(store, "ann@example.com", 10)
    with pytest.raises(RateLimitedError):
        await store.users.log_in("ann@example.com", PASSWORD)


async def test_unknown_emails_are_counted_and_other_emails_are_not_affected(store: Store) -> None:
    await store.users.sign_up("ann@example.com", PASSWORD)
    await _fail(store, "nobody@example.com", 10)
    with pytest.raises(RateLimitedError):
        await store.users.log_in("nobody@example.com", PASSWORD)
    assert (await store.users.log_in("ann@example.com", PASSWORD))["user_id"]
    rows = await store.query('SELECT "key" FROM "login_failures"')
    assert rows and all("@" not in r["key"] for r in rows)  # kept as hashes, not addresses


async def test_a_wrong_email_and_a_wrong_password_both_verify_a_hash(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.users.sign_up("ann@example.com", PASSWORD)
    calls: list[str] = []
    real = PasswordHasher.verify

    def verify(self: PasswordHasher, hash: str, password: str) -> Any:
        calls.append(hash)
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", verify)
    messages = []
    for email, password in (("nobody@example.com", PASSWORD), ("ann@example.com", "wrong password")):
        with pytest.raises(ActionError) as wrong:
            await store.users.log_in(email, password)
        messages.append(str(wrong.value))
    assert len(calls) == 2 and calls[0] == users._DUMMY_HASH and calls[1] != users._DUMMY_HASH
    assert calls[0].startswith("$argon2id$") and calls[1].startswith("$argon2id$")
    assert messages[0] == messages[1] == "wrong email or password"


APP = compile_source("""
@exposed(auth: none)
workflow enter(email: text, password: text) {
  session = log_in(email: email, password: password)
  return { user: session.user_id }
}
""")


async def test_a_throttled_run_fails_as_rate_limited(store: Store) -> None:
    await store.users.sign_up("ann@example.com", PASSWORD)
    for _ in range(10):
        record = await run_workflow(APP, "enter", store=store, email="ann@example.com", password="wrong password")
        assert record.error is not None and record.error["message"] == "wrong email or password"
    record = await run_workflow(APP, "enter", store=store, email="ann@example.com", password=PASSWORD)
    assert record.error is not None and record.error["status"] == "RATE_LIMITED" and record.error["code"] == 429
    assert 14 * 60 < record.error["retry_after"] <= 15 * 60
