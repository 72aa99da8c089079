"""An HTTP request to the webhook becomes one :class:`MessageCommand` (spec/webhook.md).

:func:`parse_request` is a pure function of a :class:`RawRequest` value, so it is unit-tested
without a server and the request-log replay reuses it. Decisions beyond the spec:

- Reserved parameter names are matched case-insensitively (``datetimepattern`` works); they
  are read from the query string only: form fields are always tags.
- A repeated tag parameter or form field keeps its first value (as a literal does).
- Query-parameter tags override body fields of the same name (the URL is the operator's).
- ``token`` is never a tag, whatever the path and wherever it came from.
- The entity is lower-cased and trimmed, inner whitespace becomes ``_`` (like tag names).
- The 1,024-tag limit counts the request's tags; ``request_ip`` (the server's own) is extra.
- ``excludeValues``/``includeValues`` match values case-sensitively; names ignore case.
- NUL characters and unpaired surrogates in stored text are a 400 (no store accepts them).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import webhook.body as bodies
from rules.command import MAX_TAGS, MessageCommand, Severity
from rules.expr import wildcard
from webhook.errors import ApiError, bad_request

FIELDS = ("type", "source", "entity", "date", "message", "severity")
FILTERS = ("exclude", "excludevalues", "include", "includevalues")
LIMITS = {"entity": 512, "type": 256, "source": 512}


@dataclass(frozen=True)
class RawRequest:
    """What the parser needs of an HTTP request, as plain immutable data."""

    method: str
    path: str  # the remainder after /webhook/ ("" when none), as sent
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str | None = None
    body: bytes = b""
    remote_addr: str = ""  # the TCP peer

    def header(self, name: str) -> str | None:
        wanted = name.strip().lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def webhook_path(self) -> str:
        """The path remainder without surrounding slashes, lower-cased (source, token key)."""
        return self.path.strip("/").lower()


@dataclass
class Params:
    """The reserved query parameters, sorted out; everything else is a tag."""

    literal: dict[str, str] = field(default_factory=dict)
    command: dict[str, str] = field(default_factory=dict)
    header: dict[str, str] = field(default_factory=dict)
    header_tags: list[tuple[str, str]] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=lambda: {f: [] for f in FILTERS})
    json_parse: list[str] = field(default_factory=list)
    datetime_pattern: str | None = None
    debug: bool = False
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Parsed:
    command: MessageCommand
    debug: bool
    top: dict[str, Any]  # the body's top-level fields (Rocket.Chat's token, bot, message_id)


@functools.lru_cache(maxsize=256)
def parse_query(query_string: bytes | str) -> tuple[tuple[str, str], ...]:
    """The query's ``(name, value)`` pairs. Cached: a sender posts to one URL every time."""
    text = (bodies.decode_text(query_string, "utf-8", "query string")
            if isinstance(query_string, bytes) else query_string)
    return tuple(bodies.parse_form(text, "query string"))


def client_ip(peer: str, forwarded_for: str | None, trusted: Iterable[str]) -> str:
    """The client's address: ``X-Forwarded-For`` counts only when the peer is a trusted proxy.

    The list is read right to left, skipping trusted proxies; the first other address is the
    client (a client can put anything at the left end, so that end is not believed).
    """
    if not forwarded_for:
        return peer
    networks = [ipaddress.ip_network(t, strict=False) for t in trusted]
    if not _in(peer, networks):
        return peer
    client = peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _valid_ip(hop):
            break
        client = hop
        if not _in(hop, networks):
            break
    return client


def _valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _in(addr: str, networks: list[Any]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in networks)


@functools.lru_cache(maxsize=256)
def _classified(query: tuple[tuple[str, str], ...]) -> Params:
    """:func:`classify`, cached by query (read-only: every request of a URL shares it)."""
    return classify(query)


def classify(query: Iterable[tuple[str, str]]) -> Params:
    params = Params()
    for name, value in query:
        key = name.strip().lower()
        if key in FIELDS:
            params.literal.setdefault(key, value)
        elif key in FILTERS:
            params.filters[key] += [p.strip() for p in value.split(";") if p.strip()]
        elif key == "datetimepattern":
            params.datetime_pattern = params.datetime_pattern or value
        elif key == "debug":
            params.debug = params.debug or value.strip().lower() == "true"
        elif key == "json.parse":
            params.json_parse += [p.strip() for p in value.split(";") if p.strip()]
        elif key.startswith("header.tag."):
            tag = bodies.normalize_name(name.strip()[len("header.tag."):])
            if not tag:
                raise bad_request(f"{name}: header.tag.<name> needs a tag name")
            params.header_tags.append((tag, value.strip()))
        elif key.startswith(("command.", "header.")):
            kind, _, what = key.partition(".")
            if what not in FIELDS:
                raise bad_request(f"unknown parameter {name!r}: expected {kind}.type, "
                                  f"{kind}.source, {kind}.entity, {kind}.date, "
                                  f"{kind}.message or {kind}.severity")
            getattr(params, kind).setdefault(what, value.strip())
        else:
            tag = bodies.normalize_name(name)
            if tag and tag not in params.tags:
                params.tags[tag] = value
    return params


def parse_request(raw: RawRequest, *, now: datetime,
                  trusted_proxies: Iterable[str] = ()) -> Parsed:
    """The message command for ``raw``; ``ApiError`` (400/415) for anything wrong with it."""
    params = _classified(raw.query)
    fields, top = bodies.read_body(raw.body, raw.content_type)
    fields.update(params.tags)
    for name in params.json_parse:
        _parse_embedded(fields, name)
    lookup = dict(fields)  # command.* reads fields before any filter removes them
    for tag, header in params.header_tags:
        value = raw.header(header)
        if value is not None:
            fields[tag] = value
    fields.pop("token", None)
    tags = _filter(_clean(fields), params.filters)
    if len(tags) > MAX_TAGS:
        raise bad_request(f"too many tags: {len(tags)} after filters, at most {MAX_TAGS}; "
                          "use exclude to drop fields")
    command = _build(raw, params, lookup, tags, now)
    command.tags["request_ip"] = client_ip(raw.remote_addr, raw.header("X-Forwarded-For"),
                                           trusted_proxies)
    check_storable(command)
    return Parsed(command=command, debug=params.debug, top=top)


def _parse_embedded(fields: dict[str, str], name: str) -> None:
    key = bodies.normalize_name(name)
    if key not in fields:
        return  # the field is optional in many payloads; nothing to parse
    text = fields.pop(key)
    what = f"json.parse field {name!r}"
    fields.update(bodies.flatten(bodies.load_json(text, what), key, what))


def _clean(fields: dict[str, str]) -> dict[str, str]:
    return {k: v.strip() for k, v in fields.items() if k and v is not None and v.strip()}


def _filter(tags: dict[str, str], filters: dict[str, list[str]]) -> dict[str, str]:
    exclude = _matcher(tuple(p.lower() for p in filters["exclude"]))
    include = _matcher(tuple(p.lower() for p in filters["include"]))
    exclude_values = _matcher(tuple(filters["excludevalues"]))
    include_values = _matcher(tuple(filters["includevalues"]))
    if exclude is None and exclude_values is None:
        return tags
    kept: dict[str, str] = {}
    for name, value in tags.items():
        if exclude is not None and exclude(name) and not (include is not None and include(name)):
            continue
        if exclude_values is not None and exclude_values(value) and not (
                include_values is not None and include_values(value)):
            continue
        kept[name] = value
    return kept


@functools.lru_cache(maxsize=256)
def _matcher(patterns: tuple[str, ...]) -> Callable[[str], bool] | None:
    """Whether a text matches any of ``patterns`` (None: no patterns); built once per list.

    Patterns without ``*``/``?`` are a set lookup instead of a match each (the common
    ``exclude=text`` runs against every tag of every request).
    """
    if not patterns:
        return None
    exact = frozenset(p for p in patterns if not wildcard.has_wildcards(p))
    wild = tuple(p for p in patterns if wildcard.has_wildcards(p))

    def matches(text: str) -> bool:
        return text in exact or (bool(wild) and wildcard.match_any(wild, text))

    return matches


def _pick(what: str, params: Params, lookup: dict[str, str], raw: RawRequest
          ) -> tuple[str, str] | None:
    """``(level, value)`` by precedence: literal, command.*, header.*; blanks fall through."""
    value = params.literal.get(what)
    if value is not None and value.strip():
        return "literal", value.strip()
    name = params.command.get(what)
    if name:
        found = lookup.get(bodies.normalize_name(name))
        if found is not None and found.strip():
            return "command", found.strip()
    header = params.header.get(what)
    if header:
        found = raw.header(header)
        if found is not None and found.strip():
            return "header", found.strip()
    return None


def _build(raw: RawRequest, params: Params, lookup: dict[str, str], tags: dict[str, str],
           now: datetime) -> MessageCommand:
    def pick(what: str) -> tuple[str, str] | None:
        return _pick(what, params, lookup, raw)

    entity = pick("entity")
    entity_name = bodies.normalize_name(entity[1] if entity else raw.webhook_path)
    if not entity_name:
        raise bad_request("entity is required: give it in the path (/webhook/<entity>), as "
                          "?entity=, ?command.entity= or ?header.entity=")
    kind = pick("type")
    source = pick("source")
    message = pick("message")
    command = MessageCommand(
        entity=entity_name,
        type=kind[1].lower() if kind else "webhook",
        source=source[1].lower() if source else raw.webhook_path,
        severity=_severity(pick("severity")),
        date=_date(pick("date"), params.datetime_pattern) or now,
        message=message[1] if message else "",
        tags=tags,
    )
    for name, limit in LIMITS.items():
        if len(getattr(command, name)) > limit:
            raise bad_request(f"{name} is longer than {limit} characters")
    return command


def _parameter(level: str, what: str) -> str:
    """The query parameter that chose a field's value: ``date``, ``command.date``, ..."""
    return what if level == "literal" else f"{level}.{what}"


def _severity(picked: tuple[str, str] | None) -> Severity | None:
    if picked is None:
        return None
    level, value = picked
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise bad_request(f"{_parameter(level, 'severity')}: {exc}") from None


def _date(picked: tuple[str, str] | None, pattern: str | None) -> datetime | None:
    if picked is None:
        return None
    level, value = picked
    if level == "command" and pattern is not None:
        bodies.check_datetime_pattern(pattern)  # its own 400, naming datetimePattern
    try:
        if level == "command":
            return bodies.parse_command_date(value, pattern)
        if level == "header":
            return bodies.parse_header_date(value)
        # ``?date=2016-06-24T20:00:45+0200`` written into a URL unencoded (as ATSD's
        # examples are) arrives with a space for the '+': a space right before a numeric
        # zone can only be that, so it is read as '+'. A space anywhere else (e.g. for 'T')
        # stays an error.
        return bodies.parse_iso(_PLUS_AS_SPACE.sub(r"\1+\2", value.strip()))
    except ApiError as exc:
        raise bad_request(f"{_parameter(level, 'date')}: {exc.message}") from None


_PLUS_AS_SPACE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d{1,9})?) "
                            r"(\d\d:?\d\d)$")


def check_storable(command: MessageCommand) -> None:
    # One pass over all the text first; the labelled search below runs only on a failure.
    blob = "".join((command.entity, command.type, command.source, command.message,
                    *command.tags, *command.tags.values()))
    if "\x00" not in blob:
        try:
            blob.encode("utf-8")
            return
        except UnicodeEncodeError:
            pass
    texts = [("entity", command.entity), ("type", command.type), ("source", command.source),
             ("message", command.message)]
    texts += [(f"tag {k!r}", k) for k in command.tags]
    texts += [(f"tag {k!r}", v) for k, v in command.tags.items()]
    for what, text in texts:
        if "\x00" in text:
            raise bad_request(f"{what} contains a NUL character")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise bad_request(f"{what} contains an unpaired surrogate "
                              f"\\u{ord(text[exc.start]):04x}, which is not valid Unicode"
                              ) from None
