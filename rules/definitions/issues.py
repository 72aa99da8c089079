"""What loading rules reports: :class:`RuleIssue`, plus the helpers that build its messages.

Every module that reads rules (the YAML format, ATSD XML, the checks in
:mod:`rules.definitions.rule_check`)
reports through this one type, so the CLI, the reload endpoint and the UI print the same
``file: rule 'name': field: message`` line.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class RuleIssue:
    """One problem found while loading: an error leaves the rule out, a warning keeps it."""

    origin: str  # the file (or "<text>")
    rule: str  # the rule's name, "#N" for an unnamed rule, "" for the whole file
    field: str  # e.g. "window", "notifications[0].open"; "" when about the whole rule/file
    message: str
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = [self.origin or "<text>"]
        if self.rule:
            where.append(f"rule {self.rule!r}")
        if self.field:
            where.append(self.field)
        prefix = "warning: " if self.level == "warning" else ""
        return f"{prefix}{': '.join(where)}: {self.message}"

    def to_json(self) -> dict[str, str]:
        return {"file": self.origin, "rule": self.rule, "field": self.field,
                "message": self.message, "level": self.level, "text": str(self)}


_SHOW = reprlib.Repr()
_SHOW.maxlevel, _SHOW.maxlist, _SHOW.maxdict, _SHOW.maxstring, _SHOW.maxother = 2, 4, 4, 60, 60


def show(value: object) -> str:
    """A short repr for messages: a YAML alias bomb must not expand into the error text."""
    return _SHOW.repr(value)


def errors_of(issues: Iterable[RuleIssue]) -> list[RuleIssue]:
    """The issues that leave a rule out (warnings dropped)."""
    return [i for i in issues if i.level == "error"]
