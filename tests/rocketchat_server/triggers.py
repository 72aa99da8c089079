"""Pure pieces of the outgoing-webhook trigger logic: targeting, trigger words, retry delays.

Kept apart from integrations.py (the engine that does I/O) so they are easy to read and test.
"""

from __future__ import annotations

import json
from typing import Any

from tests.rocketchat_server.model import Doc

USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/41.0.2227.0 Safari/537.36"
)
SUCCESS = (200, 201, 202)
JSON_TYPES = ("application/json", "text/javascript", "application/javascript",
              "application/x-javascript")  # fmt: skip


def retry_delay_ms(kind: str, tries: int) -> float | None:
    if kind == "powers-of-ten":
        return 10.0 ** (tries + 2)
    if kind == "powers-of-two":
        return 2.0 ** (tries + 1) * 1000
    if kind == "increments-of-two":
        return (tries + 1) * 2 * 1000.0
    return None


def trigger_keys(room: Doc, message: Doc) -> set[str]:
    """`getTriggersToExecute`: the channel entries that select integrations for this room."""
    if room["t"] == "c":
        return {"all_public_channels", f"#{room['_id']}", f"#{room.get('name')}"}
    if room["t"] == "d":
        keys = {"all_direct_messages"} | {f"@{uid}" for uid in room.get("uids", [])}
        author = message["u"]["username"]
        return keys | {f"@{name}" for name in room.get("usernames", []) if name != author}
    return {"all_private_groups", f"#{room['_id']}", f"#{room.get('name')}"}


def matched_word(integration: Doc, text: str) -> tuple[bool, str | None]:
    words = integration.get("triggerWords") or []
    if not words:
        return True, None
    anywhere = integration.get("triggerWordAnywhere")
    for word in words:
        if (anywhere and word in text) or (not anywhere and text.startswith(word)):
            return True, word
    return False, None


def parse_reply(content: str, content_type: str) -> Any:
    """JSON only for the content types Rocket.Chat parses; anything else is no data."""
    if content_type.split(";")[0].strip().lower() not in JSON_TYPES:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


def decode_body(body: bytes | None) -> Any:
    if body is None:
        return None
    text = body.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
