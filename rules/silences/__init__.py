"""Silences: Alertmanager-style matchers over alerts, and the silence record itself.

- :mod:`~rules.silences.matchers`: reading (chat words, JSON) and matching ``rule=``,
  ``entity=``, ``severity<=``/``>=``, ``tags.K=`` with ``*``/``?`` patterns;
- :mod:`~rules.silences.model`: :class:`Silence` (matchers, span, author, comment, room).

The store keeps silences (:mod:`rules.store.silences`); the engine applies them
(:mod:`rules.engine.silencing`). The submodules import one another directly.
"""

from rules.silences.matchers import (
    AlertFacts,
    Matcher,
    MatcherError,
    describe,
    facts_of,
    matches_all,
    parse_mapping,
    parse_words,
    to_mapping,
)
from rules.silences.model import MAX_COMMENT, Silence

__all__ = [
    "MAX_COMMENT",
    "AlertFacts",
    "Matcher",
    "MatcherError",
    "Silence",
    "describe",
    "facts_of",
    "matches_all",
    "parse_mapping",
    "parse_words",
    "to_mapping",
]
