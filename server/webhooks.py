"""Webhook signatures (`@webhook`, docs/http.md "Webhooks"): the signature of the raw body is the
authentication.

Each scheme gives back the delivery's id, so a delivery already accepted is answered again
without running twice: the sender's own id where it has one that stays the same across retries
(Stripe re-signs every retry, so its id is the event's `id`). Timestamps older than 5 minutes are
refused (where the scheme has one). Any body is accepted once signed: a body that is not JSON is
the workflow's business (`request.raw`), never a server error here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

import orjson
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from .errors import HttpError, unauthorized

TOLERANCE = 5 * 60  # seconds


def _hex_hmac(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _fresh(timestamp: str, now: float) -> None:
    try:
        ts = int(timestamp)
    except ValueError:
        raise unauthorized("the webhook timestamp is not a number") from None
    if abs(now - ts) > TOLERANCE:
        raise unauthorized("the webhook timestamp is more than 5 minutes away from now")


def verify(
    scheme: str,
    secret: str,
    raw: bytes,
    headers: Mapping[str, str],
    header: str | None = None,
    now: float | None = None,
) -> str:
    """Check the signature; return the delivery id. Raises HttpError 401 when it does not hold.

    `headers` have lower-case names."""
    if not secret:
        raise HttpError(401, "UNAUTHORIZED", "this webhook has no secret configured on the server")
    now = time.time() if now is None else now
    if scheme == "standard":
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise HttpError(400, "BAD_REQUEST", "the webhook body is not UTF-8 text") from None
        try:
            # the library checks the signature and the 5-minute tolerance itself; it must not parse
            # the body (a signed body need not be JSON), and a malformed signature list is a bad one
            Webhook(secret if secret.startswith("whsec_") else "whsec_" + _b64(secret)).verify(
                text, dict(headers), json_parse=False
            )
        except (WebhookVerificationError, ValueError) as e:  # binascii.Error is a ValueError
            raise unauthorized(f"the webhook signature does not hold: {e}") from None
        return headers.get("webhook-id", "")
    if scheme == "stripe":
        parts: dict[str, list[str]] = {}
        for item in headers.get("stripe-signature", "").split(","):
            k, _, v = item.strip().partition("=")
            parts.setdefault(k, []).append(v)
        ts = (parts.get("t") or [""])[0]
        if not ts or not parts.get("v1"):
            raise unauthorized("the Stripe-Signature header is missing or malformed")
        _fresh(ts, now)
        expected = _hex_hmac(secret, ts.encode() + b"." + raw)
        if not any(_same(expected, sig) for sig in parts["v1"]):
            raise unauthorized("the webhook signature does not hold")
        return _stripe_event_id(raw)
    if scheme == "github":
        given = headers.get("x-hub-signature-256", "")
        if not given.startswith("sha256=") or not _same("sha256=" + _hex_hmac(secret, raw), given):
            raise unauthorized("the X-Hub-Signature-256 header does not hold")
        return headers.get("x-github-delivery") or given
    # hmac-sha256: a hex HMAC-SHA256 of the body in the named header
    name = (header or "").lower()
    given = headers.get(name, "").strip()
    given = given.removeprefix("sha256=")
    if not given or not _same(_hex_hmac(secret, raw), given.lower()):
        raise unauthorized(f"the {header} header does not hold a valid HMAC-SHA256 of the body")
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _stripe_event_id(raw: bytes) -> str:
    """The event's `id` (`evt_…`): the same on every retry, which Stripe signs anew each time. A
    signed body without one (not an event) is identified by its content."""
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError:
        event = None
    event_id = event.get("id") if isinstance(event, dict) else None
    if isinstance(event_id, str) and event_id:
        return event_id
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _b64(secret: str) -> str:
    return base64.b64encode(secret.encode()).decode()
