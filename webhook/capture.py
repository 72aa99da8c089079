"""What the request log keeps of a request: capped body and headers with secrets removed.

The Rocket.Chat ``token`` (top-level body field or query parameter) becomes ``***``, so do
``Authorization``/``Cookie`` headers and any configured secret found anywhere in the text.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
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
    if "token=" in text.lower():  # the regex scan costs more than this test
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
        kept[name] = MASK if _secret_header(name) else _mask_secrets(value, secrets)
    return kept


@functools.lru_cache(maxsize=512)
def _secret_header(name: str) -> bool:
    """Whether a header (by name) holds a secret; cached: a client sends the same names."""
    lower = name.lower()
    return lower in SECRET_HEADERS or any(w in lower for w in SECRET_HEADER_WORDS)


def full_path(request: Any) -> str:
    """Path and query as sent; a query that is not UTF-8 is shown with replacement marks."""
    query = request.query_string.decode("utf-8", "replace")
    return f"{request.path}?{query}" if query else str(request.path)


def environ_headers(environ: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The request's headers from its WSGI ``environ``, named and ordered as werkzeug's
    ``request.headers`` gives them, at a fraction of its cost."""
    found: list[tuple[str, str]] = []
    for key, value in environ.items():
        name = _header_name(key)
        if name is None or (not value and key[0] == "C"):  # CONTENT_*: only when set
            continue
        found.append((name, value))
    return tuple(found)


@functools.lru_cache(maxsize=512)
def _header_name(key: str) -> str | None:
    """``HTTP_X_FORWARDED_FOR`` -> ``X-Forwarded-For``; None for a key that is no header."""
    if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
        return key[5:].replace("_", "-").title()
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return key.replace("_", "-").title()
    return None
