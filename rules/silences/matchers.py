"""Silence matchers: which alerts a silence (or an ``alerts`` listing) covers.

A matcher is ``rule=NAME``, ``entity=NAME``, ``severity<=LEVEL``, ``severity>=LEVEL``,
``severity=LEVEL`` or ``tags.K=V``; values may hold ``*`` and ``?`` patterns (matched without
regard to case, as entity and rule names are written in many cases); several are ANDed; a bare
word is ``rule=WORD``, so today's ``silence RULE 2h`` keeps working.

Two written forms, one meaning:

- chat words: ``entity=db1 severity>=MAJOR tags.mount=/var*`` (:func:`parse_words`);
- JSON (the API and the store): ``{"entity": "db1", "severity": ">=MAJOR",
  "tags.mount": "/var*"}``; a nested ``{"tags": {"mount": "/var*"}}`` is read too
  (:func:`parse_mapping`); :func:`to_mapping` writes the canonical flat form.

Every fault raises :class:`MatcherError` with one line that names the matcher and says what
would be right, because it becomes a chat reply or an API ``400`` as it is.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rules.command import Severity
from rules.errors import AtsdBotError
from rules.expr import wildcard

FIELDS = ("rule", "entity", "severity", "tags.K")
MAX_MATCHERS = 16
MAX_VALUE = 256
_WORD = re.compile(r"^(rule|entity|severity|tags\.[^=<>!\s]+)\s*(<=|>=|=)(.*)$", re.IGNORECASE)
_TAG_NAME = re.compile(r"^[^\s=<>!`]{1,128}$")  # tag names are lower-cased, else free
_BARE = re.compile(r"^[^\s=<>!]+$")


class MatcherError(AtsdBotError, ValueError):
    """A matcher that cannot be read; the text is meant for the person who wrote it."""


@dataclass(frozen=True, slots=True)
class Matcher:
    """One condition: ``field`` is ``rule``, ``entity``, ``severity`` or ``tags.<name>``."""

    field: str
    op: str  # "=", "<=", ">=" (the last two for severity only)
    value: str  # a pattern, or a severity name for severity

    def text(self) -> str:
        return f"{self.field}{self.op}{self.value}"

    def matches(self, alert: AlertFacts) -> bool:
        if self.field == "severity":
            return _severity_matches(self.op, Severity[self.value], alert.severity)
        if self.field == "rule":
            return wildcard.match(self.value, alert.rule, ignore_case=True)
        if self.field == "entity":
            return wildcard.match(self.value, alert.entity, ignore_case=True)
        tag = alert.tags.get(self.field[5:])
        return tag is not None and wildcard.match(self.value, tag, ignore_case=True)


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What matchers look at: an alert's rule, entity, severity and tags."""

    rule: str
    entity: str
    severity: Severity | None = None
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)


def _severity_matches(op: str, wanted: Severity, got: Severity | None) -> bool:
    if got is None:
        return False
    if op == "<=":
        return got <= wanted
    if op == ">=":
        return got >= wanted
    return got == wanted


def matches_all(matchers: Sequence[Matcher], alert: AlertFacts) -> bool:
    """True when every matcher holds (an empty set matches nothing: a silence needs one)."""
    return bool(matchers) and all(m.matches(alert) for m in matchers)


# -- reading --------------------------------------------------------------------------------


def parse_words(words: Iterable[str]) -> list[Matcher]:
    """Chat matchers: each word one matcher; :class:`MatcherError` names the first bad one."""
    found = [parse_word(word) for word in words]
    return _checked(found)


def parse_word(word: str) -> Matcher:
    """One chat word: ``field=value``, ``severity>=LEVEL`` or a bare rule name."""
    text = word.strip()
    match = _WORD.match(text)
    if match is None:
        if _BARE.match(text) and len(text) <= MAX_VALUE:
            return Matcher("rule", "=", text)
        return _unknown_field(text)
    field, op, value = match.group(1), match.group(2), match.group(3).strip()
    return make(field, op, value)


def _unknown_field(text: str) -> Matcher:
    name = re.split(r"<=|>=|!=|=|<|>", text, maxsplit=1)[0].strip()
    if name and name != text and len(name) <= 40:
        raise MatcherError(f"unknown matcher field {name!r}: use rule=, entity=, "
                           "severity<= / severity>= / severity=, or tags.NAME=")
    shown = text if len(text) <= 40 else text[:39] + "…"
    raise MatcherError(f"cannot read matcher {shown!r}: write FIELD=VALUE (rule, entity, "
                       "tags.NAME) or severity>=LEVEL")


def make(field: str, op: str, value: str) -> Matcher:
    """A checked matcher from its three parts (the field is case-insensitive)."""
    lower = field.strip().lower()
    if lower.startswith("tags."):
        name = field.strip()[5:].lower()
        if not _TAG_NAME.match(name):
            raise MatcherError(f"tag name {name[:40]!r}: 1 to 128 characters, no spaces, "
                               "= < > ! or `")
        lower = "tags." + name
    elif lower not in ("rule", "entity", "severity"):
        raise MatcherError(f"unknown matcher field {field[:40]!r}: use rule, entity, "
                           "severity or tags.NAME")
    if not value:
        raise MatcherError(f"matcher {lower}{op} has no value")
    if len(value) > MAX_VALUE:
        raise MatcherError(f"matcher {lower}: the value is longer than {MAX_VALUE} characters")
    if lower == "severity":
        return Matcher(lower, op, _severity_name(value))
    if op != "=":
        raise MatcherError(f"{lower}{op}: only severity compares with <= and >=; "
                           f"write {lower}=VALUE")
    return Matcher(lower, "=", value)


def _severity_name(value: str) -> str:
    try:
        return Severity.parse(value).name
    except ValueError as exc:
        raise MatcherError(str(exc)) from None


def parse_mapping(data: Any) -> list[Matcher]:
    """API / stored matchers: ``{"entity": "db1", "severity": ">=MAJOR", "tags.k": "v"}``."""
    if not isinstance(data, Mapping):
        raise MatcherError('matchers: expected an object like {"entity": "db1"}')
    found: list[Matcher] = []
    for key, value in data.items():
        if key == "tags" and isinstance(value, Mapping):
            found += [_from_pair(f"tags.{name}", tag) for name, tag in value.items()]
        else:
            # ``severity#2``: a second matcher on one field, as to_mapping writes it
            found.append(_from_pair(str(key).split("#", 1)[0], value))
    return _checked(found)


def _from_pair(key: str, value: Any) -> Matcher:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MatcherError(f"matcher {key[:40]!r}: expected a text value, got "
                           f"{type(value).__name__}")
    text = str(value).strip()
    op = "="
    if key.strip().lower() == "severity" and text[:2] in ("<=", ">="):
        op, text = text[:2], text[2:].strip()
    return make(key, op, text)


def _checked(found: list[Matcher]) -> list[Matcher]:
    if not found:
        raise MatcherError("no matchers: give at least one, e.g. entity=db1 or a rule name")
    if len(found) > MAX_MATCHERS:
        raise MatcherError(f"too many matchers ({len(found)}); at most {MAX_MATCHERS}")
    return found


# -- writing --------------------------------------------------------------------------------


def to_mapping(matchers: Sequence[Matcher]) -> dict[str, str]:
    """The canonical JSON form (severity keeps its operator in the value)."""
    out: dict[str, str] = {}
    for m in matchers:
        value = m.value if m.field != "severity" or m.op == "=" else f"{m.op}{m.value}"
        key, n = m.field, 2
        while key in out:  # the same field twice (e.g. two severity bounds): keep both
            key, n = f"{m.field}#{n}", n + 1
        out[key] = value
    return out




def describe(matchers: Sequence[Matcher]) -> str:
    """``rule=disk-full entity=db1``: the chat form, ready to paste into a command."""
    return " ".join(m.text() for m in matchers)


def facts_of(record: Mapping[str, Any]) -> AlertFacts:
    """An alert record (the engine's ``open_alerts`` shape, or a stored alert row whose
    severity is a code) as matcher input."""
    severity = record.get("severity")
    parsed = None
    if severity not in (None, ""):
        try:
            parsed = Severity.parse(severity)
        except ValueError:
            parsed = None
    tags = record.get("tags") or {}
    return AlertFacts(rule=str(record.get("rule") or ""), entity=str(record.get("entity") or ""),
                      severity=parsed, tags={str(k): str(v) for k, v in tags.items()})
