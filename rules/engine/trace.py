"""What the engine records about each stored message, for ``why`` (spec: conversation, section 4).

While :meth:`rules.engine.rule_engine.RuleEngine.process` runs a message through its rules, a
:class:`Trace` collects, per rule that could see it (its type, source and entity fit), the
first stage that stopped it or what it did. It is written as one JSON row next to the message
(:mod:`rules.store.explanations`) in the same transaction, and rendered later by
:mod:`rules.engine.explain`, so an explanation is what happened then, not what today's rules
would do.

Compact on purpose, since every stored message gets one. The keys of a rule's step:

====  =================================================================================
r     the rule's name
x     stopped before the filter: the time offset (why, as text)
f     the part of the filter that was false (``message LIKE '*disk*'``)
fe    the filter failed to evaluate (the error)
k, n  the window key and how many commands it held afterwards; ``w`` the window (its size)
c     the condition's value: true / false, or ``ce`` its error
s     the status change, ``CANCEL>OPEN``; ``t`` the trigger it fired
o     outbox ids written (their rows tell the delivery state now)
q     notifications not sent and why (repeat frequency, a delay withdrawn)
si    the silence that held the notifications
fold  a ``thread`` rule's open folded by the storm budget: the summary message's chat id
flap  a ``thread`` rule's open continuing its window's alert message: which reopening
      within ``reopen_within`` (flapping from the third)
====  =================================================================================

A message no rule could see stores one element ``{"none": KEY}``: KEY names the rules' type,
source and entity filters of that moment, kept once per rule set
(:func:`rules.store.explanations.keep_filters`), so such a row costs a few bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

MAX_TEXT = 300  # a filter part or an error, cut: the row stays small whatever the rule says

Step = dict[str, Any]


def short(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Trace:
    """The steps of one message, one per rule that could see it, in rule order."""

    __slots__ = ("steps",)

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def rule(self, name: str) -> Step:
        step: Step = {"r": name}
        self.steps.append(step)
        return step

    def nobody(self, filters_key: str) -> None:
        self.steps = [{"none": filters_key}]

    def rows(self) -> list[Step]:
        return self.steps


def filters_key(rules: Iterable[Any]) -> str:
    """A short name for the rules' filters (:func:`rule_filters`), the same for the same text."""
    return hashlib.sha256(rule_filters(rules).encode()).hexdigest()[:16]


def rule_filters(rules: Iterable[Any]) -> str:
    """``disk-full: type=webhook source=rocket.chat; ...``: what each rule can see."""
    parts = []
    for rule in rules:
        what = [f"{label}={','.join(values)}" for label, values in (
            ("type", rule.types or rule.index_types),
            ("source", rule.sources or rule.index_sources), ("entity", rule.entities))
            if values]
        parts.append(f"{rule.name}: {' '.join(what) or 'any message'}")
    return "; ".join(parts) or "no rules are loaded"
