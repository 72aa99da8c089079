"""The inputs of ``atsd-bot rules test``: ``--command`` JSON and the ``--replay`` messages.

Bad input is a :class:`UsageError` (one line, exit code 2), never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.errors import UsageError
from rules.command import MessageCommand, parse_iso_date
from rules.definitions.durations import parse_span


def parse_commands(texts: Sequence[str]) -> list[MessageCommand]:
    """``--command`` values: JSON objects (or arrays of them) in the API's message shape."""
    commands: list[MessageCommand] = []
    for text in texts:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--command: not valid JSON ({exc})") from None
        for item in data if isinstance(data, list) else [data]:
            commands.append(_command(item))
    return commands


def _command(item: Any) -> MessageCommand:
    if not isinstance(item, dict):
        raise UsageError("--command: expected a JSON object like "
                         '{"entity": "rocket.chat", "message": "hi"}')
    if not isinstance(item.get("entity"), str) or not item["entity"].strip():
        raise UsageError("--command: 'entity' is required")
    try:
        command = MessageCommand.from_json(item)
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
        raise UsageError(f"--command: {exc}") from None
    # the same normalisation the webhook applies: names lower-case, values trimmed
    command.entity = command.entity.strip().lower()
    command.type = command.type.strip().lower()
    command.source = command.source.strip().lower()
    command.tags = {k.strip().lower(): v.strip() for k, v in command.tags.items()}
    return command


def parse_since(text: str, now: datetime) -> datetime:
    """An ISO date with a zone, or a duration back from ``now`` (``1h``, ``30 minute``)."""
    try:
        return parse_iso_date(text)
    except (ValueError, OverflowError):
        pass
    try:
        return now - parse_span(text)
    except (ValueError, OverflowError) as exc:
        raise UsageError(f"--replay: expected an ISO date like 2026-01-31T10:00:00Z or a "
                         f"duration: {exc}") from None


def replay_commands(db_url: str, since_text: str, limit: int,
                    now: datetime) -> list[MessageCommand]:
    from rules.store import Database
    from rules.store.messages import messages_since

    since = parse_since(since_text, now)
    db = Database(db_url)
    try:
        with db.connect() as conn:
            return messages_since(conn, since, limit)
    finally:
        db.dispose()
