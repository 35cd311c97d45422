"""Bubble's one error shape: `{"statusCode": CODE, "body": {"status": STATUS, "message": …}}`."""

from __future__ import annotations

from typing import Any

from sanic import HTTPResponse
from wfkit.core.errors import WfError

from .jsonio import json_response


class HttpError(WfError):
    """An answer other than success, with its HTTP code and Bubble's status word."""

    def __init__(self, code: int, status: str, message: str, **extra: Any):
        super().__init__(message)
        self.code, self.status, self.message, self.extra = code, status, message, extra

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.status, self.message, **self.extra)


def error_body(code: int, status: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"statusCode": code, "body": {"status": status, "message": message, **extra}}


def error_response(code: int, status: str, message: str, **extra: Any) -> HTTPResponse:
    return json_response(error_body(code, status, message, **extra), status=code)


def unauthorized(
    message: str = "a valid token is needed: Authorization: Bearer TOKEN or ?api_token=TOKEN",
) -> HttpError:
    return HttpError(401, "UNAUTHORIZED", message)


def forbidden(message: str) -> HttpError:
    return HttpError(403, "FORBIDDEN", message)


def not_found(message: str) -> HttpError:
    return HttpError(404, "NOT_FOUND", message)


def bad_request(message: str) -> HttpError:
    return HttpError(400, "BAD_REQUEST", message)
