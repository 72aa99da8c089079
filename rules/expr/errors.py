"""The two errors of the expression language: one when text is compiled, one when it runs.

:class:`ExpressionError` is a load-time fault (syntax, unknown function, wrong number of
arguments, an invalid literal regex or date pattern); it points at the place in the text.
:class:`EvaluationError` is a run-time fault (division by zero, a type mismatch, a limit hit);
the engine records it as a rule error and keeps going.
"""

from __future__ import annotations

from rules.errors import AtsdBotError

_MAX_QUOTED = 300  # a rule text quoted in an error message is cut to this many characters


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of the 0-based ``offset`` in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


class ExpressionError(AtsdBotError, ValueError):
    """An expression or template that cannot be compiled.

    ``text`` is the whole source, ``offset`` the 0-based position of the fault, ``line`` and
    ``column`` its 1-based line and column, ``reason`` what is wrong, without the position.
    """

    def __init__(self, text: str, offset: int, reason: str) -> None:
        self.text = text
        self.offset = max(0, min(offset, len(text)))
        self.line, self.column = line_and_column(text, self.offset)
        self.reason = reason
        super().__init__(self._message())

    def _message(self) -> str:
        where = (f"line {self.line}, column {self.column}" if "\n" in self.text
                 else f"column {self.column}")
        quoted = self.text if len(self.text) <= _MAX_QUOTED else self.text[:_MAX_QUOTED] + "..."
        return f"{self.reason} at {where} in: {quoted}"

    def shifted(self, text: str, start: int) -> ExpressionError:
        """The same fault, re-anchored in ``text`` where this source begins at ``start``.

        Templates use it so that an error inside ``${...}`` points into the template.
        """
        return ExpressionError(text, start + self.offset, self.reason)


class EvaluationError(AtsdBotError):
    """An expression that failed while it ran; ``reason`` says why in user terms."""

    def __init__(self, reason: str, text: str | None = None) -> None:
        self.reason = reason
        self.text = text
        super().__init__(reason if text is None else f"{reason} in: {text}")


class LiteralArgumentError(ValueError):
    """A literal argument that can never work; ``index`` says which one."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


# In load-time argument checks, stands for an argument whose value is known only at run time.
UNKNOWN = object()
