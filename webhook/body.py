"""Request bodies and values: decode, flatten JSON into tags, normalise names, read dates.

Pure functions of bytes and strings; every failure is an :class:`ApiError` (400/415) whose
text says what is wrong. JSON is flattened iteratively with a depth bound, and a document the
decoder itself cannot nest that deep is caught too, so no input ends in a RecursionError.
"""

from __future__ import annotations

import codecs
import functools
import json
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

from rules.clock import aware
from rules.command import parse_iso_date
from webhook.errors import ApiError, bad_request

MAX_DEPTH = 64
MAX_FORM_FIELDS = 100_000
JSON_TYPES = ("application/json", "text/json")
FORM_TYPE = "application/x-www-form-urlencoded"


@functools.lru_cache(maxsize=4096)
def normalize_name(name: str) -> str:
    """Lower-case; whitespace and other non-printable characters become ``_``.

    Cached: a sender posts the same field names every time, and this ran once per tag and
    character on every request (bench/webhook.py).
    """
    name = name.strip().lower()
    if name.isprintable() and not any(ch.isspace() for ch in name):
        return name
    return "".join("_" if ch.isspace() or not ch.isprintable() else ch for ch in name)


def unquote(value: str) -> str:
    """Drop one pair of matching single or double quotes around the whole value."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


# -- bodies -------------------------------------------------------------------------------


def split_content_type(content_type: str | None) -> tuple[str, str | None]:
    """``("application/json", "utf-8")`` from a Content-Type header (charset may be None)."""
    if not content_type:
        return "", None
    parts = content_type.split(";")
    charset = None
    for part in parts[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower() or None
    return parts[0].strip().lower(), charset


def decode_text(body: bytes, charset: str | None, what: str = "body") -> str:
    name = charset or "utf-8"
    try:
        codecs.lookup(name)
    except LookupError:
        raise ApiError(415, f"unsupported charset {name!r}; send UTF-8") from None
    try:
        text = body.decode(name)
    except UnicodeDecodeError as exc:
        raise bad_request(
            f"{what} is not valid {name.upper()}: byte 0x{body[exc.start]:02x} "
            f"at position {exc.start}") from None
    return text[1:] if text.startswith("\ufeff") else text


def looks_like_json(body: bytes) -> bool:
    return body.lstrip()[:1] in (b"{", b"[")


def is_json_type(mimetype: str) -> bool:
    return mimetype in JSON_TYPES or mimetype.endswith("+json")


def read_body(body: bytes, content_type: str | None) -> tuple[dict[str, str], dict[str, Any]]:
    """Flattened fields and the top-level object (for Rocket.Chat's ``token``, ``bot``...).

    Decision: a body sent with no type, ``text/plain`` or the form type (``curl -d``'s default)
    that starts with ``{``/``[`` and parses as JSON is read as JSON. Other non-empty bodies
    of an unknown type are a 415.
    """
    if not body.strip():
        return {}, {}
    mimetype, charset = split_content_type(content_type)
    if is_json_type(mimetype):
        return _json_body(body, charset)
    if mimetype in ("", "text/plain", FORM_TYPE) and looks_like_json(body):
        try:
            return _json_body(body, charset)
        except ApiError:
            if mimetype != FORM_TYPE:
                raise
    if mimetype == FORM_TYPE:
        pairs = parse_form(decode_text(body, charset))
        fields: dict[str, str] = {}
        top: dict[str, Any] = {}
        for name, value in pairs:
            key = normalize_name(name)
            if key and key not in fields:
                fields[key] = value
            top.setdefault(name, value)
        return fields, top
    shown = mimetype or "(none)"
    raise ApiError(415, f"unsupported Content-Type {shown}: send application/json or "
                        f"{FORM_TYPE}")


def parse_form(text: str, what: str = "form body") -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, errors="strict",
                         max_num_fields=MAX_FORM_FIELDS)
    except UnicodeDecodeError as exc:
        raise bad_request(f"{what} is not valid UTF-8 after percent-decoding: "
                          f"{exc.reason}") from None
    except ValueError as exc:
        raise bad_request(f"{what}: {exc}") from None


def _json_body(body: bytes, charset: str | None) -> tuple[dict[str, str], dict[str, Any]]:
    document = load_json(decode_text(body, charset), "JSON body")
    top = document if isinstance(document, dict) else {}
    return flatten(document, ""), top


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def load_json(text: str, what: str, *, numbers_as_text: bool = True) -> Any:
    """Parse strict JSON; numbers are kept as their JSON text (``1.50`` stays ``1.50``)."""
    number = str if numbers_as_text else None
    try:
        return json.loads(text, parse_int=number, parse_float=number,
                          parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise bad_request(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} "
                          f"column {exc.colno}") from None
    except RecursionError:
        raise bad_request(f"{what} is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise bad_request(f"{what} is not valid JSON: {exc}") from None


def flatten(document: Any, prefix: str, what: str = "JSON document") -> dict[str, str]:
    """Leaves of ``document`` as ``{"a.b[0]": "text"}``; names normalised, values untrimmed.

    Leaves come out in document order (depth first). Deeper than ``MAX_DEPTH`` is a 400
    before it is walked, so the walk's recursion stays within ``MAX_DEPTH`` frames. Nulls,
    empty objects and empty arrays give nothing.
    """
    out: dict[str, str] = {}
    _walk(out, prefix, document, 0, what)
    return out


def _walk(out: dict[str, str], name: str, value: Any, depth: int, what: str) -> None:
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise bad_request(f"{what} is nested deeper than {MAX_DEPTH} levels")
        for key, child in value.items():
            part = normalize_name(key if type(key) is str else str(key))
            full = f"{name}.{part}" if name else part
            if type(child) is str:  # most leaves: no further tests
                out[full] = unquote(child)
            else:
                _walk(out, full, child, depth + 1, what)
    elif isinstance(value, list):
        if depth >= MAX_DEPTH:
            raise bad_request(f"{what} is nested deeper than {MAX_DEPTH} levels")
        for index, child in enumerate(value):
            _walk(out, f"{name}[{index}]", child, depth + 1, what)
    elif value is None:
        return
    elif isinstance(value, bool):
        out[name] = "true" if value else "false"
    else:
        out[name] = unquote(str(value))


# -- dates --------------------------------------------------------------------------------

_NUMERIC = re.compile(r"^-?\d+(\.\d+)?$")
# Java DateTimeFormatter fields (what ATSD users write), each a run of one letter, to
# strptime directives. A run of another length is not supported (``yyy``, ``SSSSSSSSS``).
_JAVA_FIELDS = {
    "yyyy": "%Y", "uuuu": "%Y", "yy": "%y", "MMMM": "%B", "MMM": "%b", "MM": "%m", "M": "%m",
    "dd": "%d", "d": "%d", "HH": "%H", "H": "%H", "hh": "%I", "mm": "%M", "m": "%M",
    "ss": "%S", "s": "%S", "SSSSSS": "%f", "SSS": "%f", "EEEE": "%A", "EEE": "%a",
    "XXX": "%z", "XX": "%z", "X": "%z", "ZZZ": "%z", "Z": "%z", "a": "%p", "z": "%Z",
}


def parse_unix(value: str, unit: str) -> datetime:
    """Unix time in ``seconds`` (fractions allowed, as in Slack's ``ts``) or ``milliseconds``."""
    text = value.strip()
    if not _NUMERIC.match(text):
        raise bad_request(f"invalid date {value!r}: expected Unix time in {unit}")
    number = float(text) / (1000.0 if unit == "milliseconds" else 1.0)
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        raise bad_request(f"invalid date {value!r}: out of range") from None


def parse_iso(value: str) -> datetime:
    try:
        return parse_iso_date(value)
    except ValueError as exc:
        raise bad_request(str(exc)) from None


def check_datetime_pattern(pattern: str) -> None:
    """A 400 naming ``datetimePattern`` when it is not iso, seconds, milliseconds or a Java
    pattern this reader supports."""
    kind = pattern.strip()
    if kind.lower() not in ("iso", "seconds", "milliseconds"):
        java_to_strptime(kind)


def parse_command_date(value: str, pattern: str | None) -> datetime:
    """``command.date`` under ``datetimePattern`` (``iso`` when not given).

    Decision: with no pattern given, a purely numeric value is read as Unix time (seconds,
    or milliseconds when above 10^11), so ATSD's Slack sample (``command.date=event.ts``)
    works; an explicit ``datetimePattern=iso`` is strict.
    """
    if pattern is None:
        if _NUMERIC.match(value.strip()):
            unit = "milliseconds" if abs(float(value)) >= 1e11 else "seconds"
            return parse_unix(value, unit)
        return parse_iso(value)
    kind = pattern.strip()
    if kind.lower() == "iso":
        return parse_iso(value)
    if kind.lower() in ("seconds", "milliseconds"):
        return parse_unix(value, kind.lower())
    return parse_pattern(value, kind)


def parse_header_date(value: str) -> datetime:
    """ISO 8601 with a zone, or an HTTP date (``Tue, 15 Nov 1994 08:12:31 GMT``)."""
    try:
        return parse_iso_date(value)
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise bad_request(f"invalid date {value!r} in header: expected ISO 8601 with a zone "
                          "or an HTTP date")
    return parsed.astimezone(UTC)


def java_to_strptime(pattern: str) -> str:
    """Translate a Java date pattern; a field it does not know, or one given twice, is a 400.

    strptime reads each directive at most once (a second ``%d`` is a regular-expression
    error), and Java would refuse most such patterns too, so a repeat is the client's error.
    """
    out: list[str] = []
    seen: dict[str, str] = {}  # directive -> the field that gave it
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise bad_request(f"datetimePattern {pattern!r}: unterminated quote")
            out.append(pattern[i + 1:end].replace("%", "%%") or "'")
            i = end + 1
            continue
        if ch.isalpha():
            end = i
            while end < len(pattern) and pattern[end] == ch:
                end += 1
            field = pattern[i:end]
            directive = _JAVA_FIELDS.get(field)
            if directive is None:
                raise bad_request(f"datetimePattern {pattern!r}: unsupported field {field!r}")
            if directive in seen:
                before = "" if seen[directive] == field else f" (as {seen[directive]!r} before)"
                raise bad_request(f"datetimePattern {pattern!r}: the field {field!r} is given "
                                  f"twice{before}; give each field once")
            seen[directive] = field
            out.append(directive)
            i = end
            continue
        out.append("%%" if ch == "%" else ch)
        i += 1
    return "".join(out)


def parse_pattern(value: str, pattern: str) -> datetime:
    """Decision: a pattern without a zone reads the time as UTC (the server's zone is UTC)."""
    directive = java_to_strptime(pattern)
    try:
        parsed = datetime.strptime(value.strip(), directive)
    except ValueError:
        raise bad_request(f"date {value!r} does not match datetimePattern {pattern!r}") from None
    except re.error as exc:  # whatever strptime cannot compile is the pattern's fault
        raise bad_request(f"datetimePattern {pattern!r}: not a usable pattern ({exc.msg})"
                          ) from None
    return aware(parsed).astimezone(UTC)
