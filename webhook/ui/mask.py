"""Hide secrets before anything reaches a page: headers, bodies, URLs and free text.

A secret is masked when it is (a) a configured secret value wherever it appears, (b) the
value of a header or JSON/form field whose name says it is one (``authorization``,
``token``, ``password``, ``secret``, ``cookie``, ``*-key``), or (c) the password part of a
``user:password@host`` URL. The webhook receiver already keeps the body ``token`` out of
tags; this is the last line before display, so it assumes nothing about what was stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

MASK = "***"
_SECRET_NAME = re.compile(
    r"(authorization|token|passw(or)?d|secret|cookie|api[-_]?key|x-auth|credential)", re.I
)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]+):[^@/\s]+@",
                           re.I)
_MAX_DEPTH = 64


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """Configured secrets and URL passwords replaced by ``***``."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)


def mask_headers(headers: Mapping[str, Any] | None, secrets: Iterable[str]) -> dict[str, str]:
    secrets = list(secrets)
    shown: dict[str, str] = {}
    for name, value in (headers or {}).items():
        shown[str(name)] = MASK if is_secret_name(str(name)) else mask_text(str(value), secrets)
    return shown


def mask_body(body: str | None, content_type: str | None, secrets: Iterable[str]) -> str:
    """The body for display: JSON pretty-printed with secret fields masked, forms likewise."""
    if not body:
        return ""
    secrets = list(secrets)
    kind = (content_type or "").lower()
    if "json" in kind or body.lstrip()[:1] in ("{", "["):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # too deep for the parser: shown as text
            pass
        else:
            pretty = json.dumps(_mask_json(data, 0), indent=2, ensure_ascii=False)
            return mask_text(pretty, secrets)
    if "x-www-form-urlencoded" in kind:
        pairs = parse_qsl(body, keep_blank_values=True)
        masked = [(k, MASK if is_secret_name(k) else v) for k, v in pairs]
        return mask_text(urlencode(masked), secrets)
    return mask_text(body, secrets)


def mask_query(path: str, secrets: Iterable[str]) -> str:
    """A path with query: parameters with secret names masked (``?token=...``)."""
    base, sep, query = path.partition("?")
    if not sep:
        return mask_text(path, secrets)
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(is_secret_name(k) for k, _ in pairs):
        query = urlencode([(k, MASK if is_secret_name(k) else v) for k, v in pairs])
    return mask_text(f"{base}?{query}", secrets)


def mask_mapping(data: Any, secrets: Iterable[str]) -> Any:
    """A JSON-like structure (a stored command, a target) with secrets masked."""
    return _mask_json(data, 0, list(secrets))


def _mask_json(data: Any, depth: int, secrets: list[str] | None = None) -> Any:
    if depth > _MAX_DEPTH:
        return MASK  # deeper than any real payload; do not recurse further
    if isinstance(data, dict):
        return {k: (MASK if is_secret_name(str(k)) and not isinstance(v, (dict, list))
                    else _mask_json(v, depth + 1, secrets)) for k, v in data.items()}
    if isinstance(data, list):
        return [_mask_json(v, depth + 1, secrets) for v in data]
    if secrets and isinstance(data, str):
        return mask_text(data, secrets)
    return data
