"""The built-in `send_email` action (docs/language.md §11): SMTP through `WF_SMTP_URL`, else the outbox.

`WF_SMTP_URL` is `smtp://user:password@host:587?starttls=true` (`smtps://` for TLS from the first
byte, port 465 by default; `starttls=false` never upgrades; without it STARTTLS is used when the
server offers it). `?from=` sets the default sender, else `WF_SMTP_FROM`, else the user name when it
is an address. Without `WF_SMTP_URL` the message is kept in the store's outbox (`/meta/outbox`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from wfkit.core.actions import ActionSpec, ParamSpec
from wfkit.core.errors import ActionError, ConfigError

from . import hookimpl

if TYPE_CHECKING:
    from wfkit.core.context import ActionContext

DEFAULT_FROM = "wfkit@localhost"
TIMEOUT = 30.0
TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None  # None: when the server offers it
    sender: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError("WF_SMTP_URL must look like smtp://user:password@host:587?starttls=true")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        tls = parts.scheme == "smtps"
        start = query.get("starttls")
        try:
            port = parts.port or (465 if tls else 587)
        except ValueError:
            raise ConfigError("WF_SMTP_URL has a port that is not a number") from None
        username = unquote(parts.username) if parts.username else None
        return cls(
            host=parts.hostname,
            port=port,
            username=username,
            password=unquote(parts.password) if parts.password else None,
            use_tls=tls,
            start_tls=None if start is None or tls else start.lower() in TRUE,
            sender=query.get("from") or (username if username and "@" in username else None),
        )


def _addresses(value: Any, name: str, *, required: bool = False) -> list[str]:
    if value is None or value == "" or value == []:
        if required:
            raise ActionError(f"send_email needs `{name}`")
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if not isinstance(item, str) or "@" not in item or any(c in item for c in "\r\n"):
            raise ActionError(f"send_email: `{name}` must be email addresses, got {item!r}")
        out.append(item.strip())
    return out


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ActionError(f"send_email: `{name}` must be text")
    return value


def build_message(args: dict[str, Any], sender: str, key: str) -> tuple[EmailMessage, dict[str, Any]]:
    """The MIME message and the record kept in the outbox."""
    to = _addresses(args.get("to"), "to", required=True)
    reply_to = _addresses(args.get("reply_to"), "reply_to")
    subject = _text(args.get("subject"), "subject") or ""
    body = _text(args.get("body"), "body") or ""
    html = _text(args.get("html"), "html")
    if any(c in subject for c in "\r\n"):
        raise ActionError("send_email: the subject must be one line")
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    if reply_to:
        msg["Reply-To"] = ", ".join(reply_to)
    msg["Subject"] = subject
    # The same statement of the same run gets the same Message-ID: a retried run's mail can be
    # recognised as a duplicate.
    msg["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@wfkit>"
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    record = {"to": to, "subject": subject, "body": body, "html": html, "reply_to": reply_to, "from": sender}
    return msg, record


async def send_email(ctx: ActionContext, target: Any, args: dict[str, Any]) -> None:
    url = ctx.services.get("smtp_url") or os.environ.get("WF_SMTP_URL")
    settings = SmtpSettings.from_url(url) if url else None
    sender_arg = _addresses(args.get("from"), "from")
    default = (settings.sender if settings else None) or os.environ.get("WF_SMTP_FROM") or DEFAULT_FROM
    sender = sender_arg[0] if sender_arg else default
    msg, record = build_message(args, sender, ctx.idempotency_key)
    if settings is None:
        if ctx.store is None:
            raise ActionError("send_email: no SMTP server (WF_SMTP_URL) and no data store for the outbox")
        await ctx.store.add_to_outbox(record, key=ctx.idempotency_key)
        ctx.log(f"email to {', '.join(record['to'])} kept in the outbox (no WF_SMTP_URL)")
        return
    try:
        await aiosmtplib.send(
            msg,
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            use_tls=settings.use_tls,
            start_tls=settings.start_tls,
            timeout=TIMEOUT,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
        raise ActionError(f"send_email: the SMTP server {settings.host}:{settings.port} refused or failed: {e}") from e


@hookimpl
def register_actions() -> list[ActionSpec]:
    return [
        ActionSpec(
            verb="send_email",
            run=send_email,
            params=(
                ParamSpec("to", "any", required=True, doc="an address or a list of addresses"),
                ParamSpec("subject", "text", required=True),
                ParamSpec("body", "text", required=True, doc="plain text"),
                ParamSpec("html", "text", doc="an HTML version of the body"),
                ParamSpec("reply_to", "any", doc="an address or a list of addresses"),
                ParamSpec("from", "text", doc="the sender; default from WF_SMTP_URL or WF_SMTP_FROM"),
            ),
            result="nothing",
            doc="Send an email through WF_SMTP_URL, or keep it in the outbox when none is set.",
        )
    ]
