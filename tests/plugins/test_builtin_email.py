"""send_email: a real SMTP server (aiosmtpd on 127.0.0.1) receives the mail; without WF_SMTP_URL
the mail is kept in the outbox."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from backends import OpenStore
from wfkit.testing import compile_source, run_workflow

SOURCE = """
workflow notify(to: text, amount: number) {
  send_email(
    to: to,
    subject: "New order",
    body: "Amount {amount}",
    html: "<b>{amount}</b>",
    reply_to: "ops@example.com",
  )
}

workflow many() {
  send_email(to: ["a@example.com", "b@example.com"], subject: "Hi", body: "Hello", from: "shop@example.com")
}

workflow broken() {
  send_email(to: "not an address", subject: "x", body: "y")
}
"""

APP = compile_source(SOURCE)


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def message(self, i: int = -1) -> Message:
        content = self.envelopes[i].content
        assert isinstance(content, bytes)
        return message_from_bytes(content)


def authenticate(server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"mailer", b"p@ss word")
    return AuthResult(success=ok)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def test_a_real_smtp_server_receives_the_mail(
    open_store: OpenStore, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = smtp
    monkeypatch.setenv("WF_SMTP_URL", f"smtp://mailer:p%40ss%20word@127.0.0.1:{port}?from=orders@example.com")
    async with open_store(APP) as store:
        record = await run_workflow(APP, "notify", store=store, to="ann@example.com", amount=42)
        assert record.ok, record.error
        assert len(inbox.envelopes) == 1
        assert inbox.envelopes[0].mail_from == "orders@example.com"
        assert inbox.envelopes[0].rcpt_tos == ["ann@example.com"]
        msg = inbox.message()
        assert msg["Subject"] == "New order" and msg["Reply-To"] == "ops@example.com"
        assert msg["Message-ID"].endswith("@wfkit>")
        parts = {p.get_content_type(): p.get_payload(decode=True) for p in msg.walk() if not p.is_multipart()}
        assert parts["text/plain"].strip() == b"Amount 42"
        assert parts["text/html"].strip() == b"<b>42</b>"
        assert await store.outbox() == []  # sent, not kept

        record = await run_workflow(APP, "many", store=store)
        assert record.ok, record.error
        assert inbox.envelopes[-1].rcpt_tos == ["a@example.com", "b@example.com"]
        assert inbox.envelopes[-1].mail_from == "shop@example.com"


async def test_an_unreachable_server_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()  # nothing listens there
    monkeypatch.setenv("WF_SMTP_URL", f"smtp://mailer:wrong-secret@127.0.0.1:{port}")
    record = await run_workflow(APP, "notify", to="ann@example.com", amount=1)
    assert record.error is not None and f"SMTP server 127.0.0.1:{port}" in record.error["message"]
    assert "wrong-secret" not in record.error["message"]


async def test_without_smtp_the_mail_waits_in_the_outbox(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WF_SMTP_URL", raising=False)
    monkeypatch.delenv("WF_SMTP_FROM", raising=False)
    async with open_store(APP) as store:
        record = await run_workflow(APP, "notify", store=store, to="ann@example.com", amount=7)
        assert record.ok, record.error
        kept = await store.outbox()
        assert len(kept) == 1
        assert kept[0]["to"] == ["ann@example.com"] and kept[0]["subject"] == "New order"
        assert kept[0]["body"] == "Amount 7" and kept[0]["html"] == "<b>7</b>"
        assert kept[0]["from"] == "wfkit@localhost" and kept[0]["reply_to"] == ["ops@example.com"]
        assert "outbox" in record.logs[0]["message"]
        # the same statement of the same run is kept once (a retried run does not queue it twice)
        key = f"{record.id}:{record.steps[0]['step']}"
        assert await store.add_to_outbox(kept[0], key=key) == kept[0]["id"]
        assert len(await store.outbox()) == 1
        await store.add_to_outbox(kept[0], key="another")
        assert len(await store.outbox()) == 2


async def test_bad_addresses_are_refused(open_store: OpenStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WF_SMTP_URL", raising=False)
    async with open_store(APP) as store:
        record = await run_workflow(APP, "broken", store=store)
        assert record.error is not None and "`to` must be email addresses" in record.error["message"]
        assert await store.outbox() == []
