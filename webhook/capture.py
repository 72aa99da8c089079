"""What the request log keeps of a request: capped body and headers with secrets removed.

The Rocket.Chat ``token`` (top-level body field or query parameter) becomes ``***``, so do
``Authorization``/``Cookie`` headers and any configured secret found anywhere in the text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from webhook.body import FORM_TYPE, looks_like_json, split_content_type
from webhook.settings import AppSettings

MASK = "***"
SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie")
SECRET_HEADER_WORDS = ("token", "secret", "password", "api-key", "apikey")
# The closing quote is optional: a value cut by the size cap must still be hidden.
# Possessive quantifiers: each match is linear and re.sub never rescans it.
_JSON_TOKEN = re.compile(r'("token"\s*:\s*)"(?:[^"\\]|\\.?)*+"?')
_FORM_TOKEN = re.compile(r"(^|&|\?)(token=)[^&]*", re.IGNORECASE)


def redact(text: str, settings: AppSettings) -> str:
    """``text`` with ``token=`` parameters and every configured secret masked."""
    text = _FORM_TOKEN.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    return _mask_secrets(text, settings.secrets())


def _mask_secrets(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def capture_body(body: bytes, content_type: str | None, settings: AppSettings) -> str | None:
    if not body:
        return None
    text = body.decode("utf-8", "replace")
    mimetype, _ = split_content_type(content_type)
    if looks_like_json(body):
        text = _mask_json(text)
    elif mimetype == FORM_TYPE:
        text = _FORM_TOKEN.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    text = redact(text, settings)
    return text[: settings.webhook.body_capture_bytes]


def _mask_json(text: str) -> str:
    # A regex rather than parse-and-dump: the rest of the body stays byte for byte as sent,
    # and a malformed body is masked too.
    return _JSON_TOKEN.sub(lambda m: m.group(1) + json.dumps(MASK), text)


def capture_headers(headers: tuple[tuple[str, str], ...], settings: AppSettings
                    ) -> dict[str, str]:
    kept: dict[str, str] = {}
    secrets = settings.secrets()  # once per request, not once per header
    for name, value in headers:
        lower = name.lower()
        secret = lower in SECRET_HEADERS or any(w in lower for w in SECRET_HEADER_WORDS)
        kept[name] = MASK if secret else _mask_secrets(value, secrets)
    return kept


def full_path(request: Any) -> str:
    """Path and query as sent; a query that is not UTF-8 is shown with replacement marks."""
    query = request.query_string.decode("utf-8", "replace")
    return f"{request.path}?{query}" if query else str(request.path)
