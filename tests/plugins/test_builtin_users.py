"""The built-in sign_up and log_in actions; no password in any record."""

from __future__ import annotations

import json

from backends import OpenStore
from wfkit.testing import compile_source, run_workflow

SOURCE = """
type User {
  name: text
}

@exposed(auth: none)
workflow register(email: text, password: text, name: text) {
  user = sign_up(email: email, password: password, name: name)
  return { id: user.id, email: user.email, name: user.name }
}

@exposed(auth: none)
workflow enter(email: text, password: text, keep: boolean = false) {
  session = log_in(email: email, password: password, keep: keep)
  log "logged in {session.user_id} with {password}"
  return { token: session.token, user_id: session.user_id, expires: session.expires }
}
"""

APP = compile_source(SOURCE)
PASSWORD = "s3cret-enough"


async def test_sign_up_then_log_in(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        record = await run_workflow(
            APP, "register", store=store, email="Ann@Example.com", password=PASSWORD, name="Ann"
        )
        assert record.ok, record.error
        assert record.response is not None
        assert record.response["email"] == "ann@example.com" and record.response["name"] == "Ann"
        user_id = record.response["id"]

        record = await run_workflow(APP, "enter", store=store, email="ann@example.com", password=PASSWORD, keep="yes")
        assert record.ok, record.error
        assert record.response is not None
        assert record.response["user_id"] == user_id and record.response["expires"] == 365 * 86400
        user = await store.users.verify_user_token(record.response["token"])
        assert user is not None and user.id == user_id

        text = json.dumps(record.to_json())
        assert PASSWORD not in text
        assert record.params["password"] == "[redacted]"
        assert record.logs[0]["message"] == f"logged in {user_id} with [redacted]"


async def test_refusals_name_the_problem_not_the_password(open_store: OpenStore) -> None:
    async with open_store(APP) as store:
        ok = await run_workflow(APP, "register", store=store, email="ann@example.com", password=PASSWORD, name="A")
        assert ok.ok, ok.error
        taken = await run_workflow(APP, "register", store=store, email="ANN@example.com", password=PASSWORD, name="B")
        assert taken.error is not None and "already taken" in taken.error["message"]
        short = await run_workflow(APP, "register", store=store, email="bob@example.com", password="1234567", name="B")
        assert short.error is not None and "at least 8 characters" in short.error["message"]
        assert "1234567" not in json.dumps(short.to_json())
        wrong = await run_workflow(APP, "enter", store=store, email="ann@example.com", password="wrong-password")
        assert wrong.error is not None and wrong.error["message"] == "wrong email or password"
        assert "wrong-password" not in json.dumps(wrong.to_json())
