"""Users (docs/language.md): unique lower-case emails, argon2 hashes, user tokens and admin tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from wfkit.core.errors import ActionError, ConfigError
from wfkit.core.store import Store
from wfkit.core.store.codec import iso

PASSWORD = "correct horse battery"


async def test_sign_up_and_log_in(store: Store) -> None:
    user = await store.users.sign_up("  Ann@Example.COM ", PASSWORD)
    assert user.type == "User" and user.data == {"email": "ann@example.com"}
    with pytest.raises(ActionError, match="already taken"):
        await store.users.sign_up("ann@example.com", "another password")
    with pytest.raises(ActionError, match="at least 8 characters"):
        await store.users.sign_up("bob@example.com", "short")
    with pytest.raises(ActionError, match="not an email address"):
        await store.users.sign_up("bob", PASSWORD)
    session = await store.users.log_in("ANN@example.com", PASSWORD)
    assert session["user_id"] == user.id and session["expires"] == 24 * 3600
    assert session["token"].startswith("wfu_") and len(session["token"]) > 40
    me = await store.users.verify_user_token(session["token"])
    assert me is not None and me.id == user.id and me.data["email"] == "ann@example.com"
    kept = await store.users.log_in("ann@example.com", PASSWORD, keep=True)
    assert kept["expires"] == 365 * 24 * 3600


async def test_wrong_credentials_say_the_same(store: Store) -> None:
    await store.users.sign_up("ann@example.com", PASSWORD)
    with pytest.raises(ActionError) as wrong_password:
        await store.users.log_in("ann@example.com", "wrong password")
    with pytest.raises(ActionError) as wrong_email:
        await store.users.log_in("nobody@example.com", PASSWORD)
    assert str(wrong_password.value) == str(wrong_email.value) == "wrong email or password"
    assert PASSWORD not in str(wrong_email.value)


async def test_tokens_are_hashed_and_expire(store: Store) -> None:
    user = await store.users.sign_up("ann@example.com", PASSWORD)
    token = (await store.users.log_in("ann@example.com", PASSWORD))["token"]
    rows = await store.query('SELECT "hash", "expires_at" FROM "tokens"')
    assert len(rows) == 1 and rows[0]["hash"] != token and token not in str(rows)
    assert await store.users.verify_user_token(token + "x") is None
    assert await store.users.verify_user_token("") is None and await store.users.verify_user_token(None) is None
    past = iso(datetime.now(UTC) - timedelta(seconds=1))
    await store.execute(f'UPDATE "tokens" SET "expires_at" = {store.dialect.param(1)}', [past])
    assert await store.users.verify_user_token(token) is None
    token = (await store.users.log_in("ann@example.com", PASSWORD))["token"]
    assert await store.users.log_out(token) and await store.users.verify_user_token(token) is None
    token = (await store.users.log_in("ann@example.com", PASSWORD))["token"]
    await store.delete(user)
    assert await store.users.verify_user_token(token) is None
    assert await store.query('SELECT * FROM "users"') == []


async def test_passwords_are_argon2_and_nowhere_else(store: Store) -> None:
    user = await store.users.sign_up("ann@example.com", PASSWORD)
    await store.users.log_in("ann@example.com", PASSWORD)
    rows = await store.query('SELECT "password_hash" FROM "users"')
    assert rows[0]["password_hash"].startswith("$argon2id$")
    for table in ("things", "users", "tokens", "outbox", "wf_meta"):
        assert PASSWORD not in str(await store.query(f'SELECT * FROM "{table}"'))
    assert "password" not in user.data
    with pytest.raises(ActionError, match="password is set with sign_up"):
        await store.change(user, {"password": "new password!"})
    await store.users.set_password(user, "new password!")
    with pytest.raises(ActionError):
        await store.users.log_in("ann@example.com", PASSWORD)
    assert (await store.users.log_in("ann@example.com", "new password!"))["user_id"] == user.id


async def test_emails_stay_unique_and_lower_case(store: Store) -> None:
    ann = await store.users.sign_up("ann@example.com", PASSWORD)
    await store.create("User", {"email": "Bob@Example.com"})
    with pytest.raises(ActionError, match="already taken"):
        await store.create("User", {"email": "ANN@example.com"})
    with pytest.raises(ActionError, match="already taken"):
        await store.change(ann, {"email": "BOB@example.com"})
    changed = await store.change(ann, {"email": "Ann.New@Example.com"})
    assert changed.data["email"] == "ann.new@example.com"
    assert (await store.users.log_in("ann.new@example.com", PASSWORD))["user_id"] == ann.id
    with pytest.raises(ActionError, match="needs an email"):
        await store.create("User", {})


async def test_admin_tokens(store: Store) -> None:
    token = await store.users.create_admin_token("deploy")
    assert token.startswith("wfa_")
    assert await store.users.verify_admin_token(token)
    assert not await store.users.verify_admin_token(token[:-1])
    assert not await store.users.verify_admin_token(None)
    with pytest.raises(ConfigError, match="already an admin token named 'deploy'"):
        await store.users.create_admin_token("deploy")
    other = await store.users.create_admin_token()
    listed = await store.users.list_admin_tokens()
    assert [t.name for t in listed] == ["deploy", "token-2"]
    assert token not in str(listed) and token not in str(await store.query('SELECT * FROM "tokens"'))
    # a user token is no admin token, and the other way round
    await store.users.sign_up("ann@example.com", PASSWORD)
    user_token = (await store.users.log_in("ann@example.com", PASSWORD))["token"]
    assert not await store.users.verify_admin_token(user_token)
    assert await store.users.verify_user_token(token) is None
    assert await store.users.revoke_admin_token("deploy")
    assert not await store.users.verify_admin_token(token)
    assert not await store.users.revoke_admin_token("deploy")
    assert await store.users.revoke_admin_token(listed[1].id)
    assert not await store.users.verify_admin_token(other)
