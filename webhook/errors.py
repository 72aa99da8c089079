"""The one error type the webhook package raises for anything a client got wrong.

Views turn an :class:`ApiError` into ``{"error": "..."}`` with its status (and headers, e.g.
``WWW-Authenticate`` or ``Retry-After``); nothing a client can send becomes a 500.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Response, jsonify

from rules.errors import AtsdBotError

__all__ = ["ApiError", "bad_request", "error_response", "json_error"]


class ApiError(AtsdBotError):
    """A client-facing failure: ``status`` is a 4xx (or 503), ``message`` says what is wrong."""

    def __init__(self, status: int, message: str, *, headers: Mapping[str, str] | None = None,
                 outcome: str = "invalid") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        # what the request log records: invalid (bad input) | rejected (auth) | error
        self.outcome = outcome


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def json_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def error_response(error: ApiError) -> Response:
    return json_error(error.status, error.message, error.headers)
