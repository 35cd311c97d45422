"""No token in the access log: `?api_token=…` (docs/http.md) is a way to authenticate, and Sanic's
access lines carry the whole URL. Values of secret-named query parameters are logged as
`[redacted]` (docs/security.md)."""

from __future__ import annotations

import logging
import re

from wfkit.core import values as V

_PARAM = re.compile(r"([?&])([^=&#\s]+)=([^&#\s]*)")


def hide(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        return f"{m[1]}{m[2]}={V.REDACTED}" if V.is_secret_name(m[2]) else m[0]

    return _PARAM.sub(one, text) if "=" in text else text


class HideQuerySecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, str):
            record.request = hide(request)
        return True


def install() -> None:
    """On Sanic's access logger, once a process."""
    access = logging.getLogger("sanic.access")
    if not any(isinstance(f, HideQuerySecrets) for f in access.filters):
        access.addFilter(HideQuerySecrets())
