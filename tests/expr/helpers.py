"""Shared helpers: evaluate an expression against a small, realistic command."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rules.expr import Environment, compile_expression

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def command_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "entity": "rocketchat-bot",
        "type": "webhook",
        "source": "rocket.chat",
        "message": "deploy failed on web-01",
        "severity": "WARNING",
        "tags": {"user_name": "bob", "channel_id": "GENERAL", "code": "503", "bot": "false",
                 "odd-name": "dash", "empty": ""},
        "rule": "seed",
        "status": "OPEN",
        "repeat_count": 2,
        "open_time": datetime(2026, 11, 28, 11, 30, 0, tzinfo=UTC),
    }
    fields.update(overrides)
    return fields


def env(**overrides: Any) -> Environment:
    return Environment(fields=command_fields(**overrides), now=NOW)


def ev(text: str, environment: Environment | None = None, **overrides: Any) -> Any:
    return compile_expression(text).evaluate(environment or env(**overrides))
