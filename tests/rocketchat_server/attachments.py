"""Attachment validation as `validateMessage` in RC `app/lib/server/functions/sendMessage.ts`.

Link fields must be absolute URLs (`http(s)://` or `data:`; never `javascript:`), otherwise the
send fails with the plain error "Invalid href value provided"; typed fields must have their
type. Attachments are otherwise stored exactly as sent (buttons included, see buttons.py).
"""

from __future__ import annotations

import re
from typing import Any

from tests.rocketchat_server.errors import PlainError
from tests.rocketchat_server.state import Doc

FULL_URL = re.compile(r"^(https?://|data:)", re.IGNORECASE)
ATTACHMENT_URLS = ("thumb_url", "message_link", "author_link", "author_icon", "title_link",
                   "image_url", "audio_url", "video_url")  # fmt: skip
ATTACHMENT_TYPES: dict[str, type] = {
    "color": str, "text": str, "button_alignment": str, "actions": list, "collapsed": bool,
    "author_name": str, "title": str, "title_link_download": bool, "fields": list,
}  # fmt: skip
ACTION_URLS = ("url", "image_url")
ACTION_TYPES: dict[str, type] = {
    "type": str, "text": str, "is_webview": bool, "webview_height_ratio": str, "msg": str,
    "msg_in_chat_window": bool,
}  # fmt: skip
JS_NAMES = {str: "string", bool: "boolean", list: "array"}


def _typeof(value: Any) -> str:
    """JavaScript's `typeof` for a JSON value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else "object"


def _check_fields(item: Doc, types: dict[str, type], urls: tuple[str, ...]) -> None:
    for key, wanted in types.items():
        value = item.get(key)
        if value is not None and type(value) is not wanted:
            # Meteor `check`'s wording (the real text may repeat the "Match error:" prefix).
            got = _typeof(value)
            raise PlainError(f"Match error: Expected {JS_NAMES[wanted]}, got {got} in field {key}")
    for key in urls:
        value = item.get(key)
        if value is not None and (not isinstance(value, str) or not FULL_URL.match(value)):
            raise PlainError("Invalid href value provided")


def validate_attachments(attachments: Any) -> None:
    """`validateBodyAttachments` for a list of attachments (anything else is ignored upstream)."""
    if not isinstance(attachments, list):
        return
    for attachment in attachments:
        if not isinstance(attachment, dict):
            continue
        _check_fields(attachment, ATTACHMENT_TYPES, ATTACHMENT_URLS)
        for action in attachment.get("actions") or []:
            if isinstance(action, dict):
                _check_fields(action, ACTION_TYPES, ACTION_URLS)
