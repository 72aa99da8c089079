"""Errors raised on purpose join the one root, AtsdBotError, keeping ValueError where they had
it (callers that catch ValueError still catch them)."""

from __future__ import annotations

import pytest

from bot.chat.commands import Refused, Usage
from rules.definitions.durations import DurationError
from rules.engine.compiled import RuleFault
from rules.errors import AtsdBotError
from rules.silences.matchers import MatcherError


@pytest.mark.parametrize("error", [DurationError, MatcherError, RuleFault, Usage, Refused])
def test_joins_the_root(error: type[Exception]) -> None:
    assert issubclass(error, AtsdBotError)


@pytest.mark.parametrize("error", [DurationError, MatcherError])
def test_keeps_value_error(error: type[Exception]) -> None:
    assert issubclass(error, ValueError)
