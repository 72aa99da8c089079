"""Errors shaped like Rocket.Chat's: `Meteor.Error` for methods, REST failures for the API."""

from __future__ import annotations

from typing import Any


class MeteorError(Exception):
    """A `Meteor.Error(error, reason, details)`: client-safe, serialised the Meteor way."""

    def __init__(self, error: str | int, reason: str | None = None, details: Any = None) -> None:
        super().__init__(reason or str(error))
        self.error = error
        self.reason = reason
        self.details = details

    @property
    def message(self) -> str:
        # Meteor builds `message` as "<reason> [<error>]" ("[<error>]" when there is no reason).
        return f"{self.reason} [{self.error}]" if self.reason else f"[{self.error}]"

    def ddp(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"isClientSafe": True, "error": self.error}
        if self.reason is not None:
            doc["reason"] = self.reason
        if self.details is not None:
            doc["details"] = self.details
        doc["message"] = self.message
        doc["errorType"] = "Meteor.Error"
        return doc

    def rest(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"success": False, "error": self.message, "errorType": self.error}
        if self.details is not None:
            doc["details"] = self.details
        return doc


class PlainError(MeteorError):
    """A plain JavaScript `Error` thrown by server code (not a `Meteor.Error`).

    REST answers it as `API.v1.failure(e.message)`: 400 `{success: false, error}` without
    `errorType`; over DDP it is not client-safe, so the caller sees `500 Internal server error`.
    """

    def __init__(self, text: str) -> None:
        super().__init__("Error", text)

    @property
    def message(self) -> str:
        return self.reason or ""

    def rest(self) -> dict[str, Any]:
        return {"success": False, "error": self.message}

    def ddp(self) -> dict[str, Any]:
        return MeteorError(500, "Internal server error").ddp()


class ApiError(Exception):
    """A REST failure with an exact status and body."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(body.get("error") or body.get("message") or str(status))
        self.status = status
        self.body = body
        self.headers = headers or {}


def failure(message: str, error_type: str | None = None, details: Any = None) -> ApiError:
    """`API.v1.failure(...)`: 400; plain strings have no errorType."""
    body: dict[str, Any] = {"success": False, "error": message}
    if error_type is not None:
        body["errorType"] = error_type
    if details is not None:
        body["details"] = details
    return ApiError(400, body)


def unauthorized() -> ApiError:
    message = "You must be logged in to do this."
    return ApiError(
        401, {"success": False, "status": "error", "message": message, "error": message}
    )


def forbidden() -> ApiError:
    reason = "User does not have the permissions required for this action [error-unauthorized]"
    return ApiError(403, {"success": False, "error": reason})


def invalid_params(message: str) -> ApiError:
    return failure(f"{message} [invalid-params]", "invalid-params")
