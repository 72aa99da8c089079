"""Text a person wrote, shown back in a chat message without becoming the bot's markup.

A comment, reason or matcher could hold ``@all``, ``*bold*``, links or backticks; inside a
code span Rocket.Chat renders none of that and notifies nobody (a mention in inline code is
not a mention, RocketChat/Rocket.Chat#7759). :func:`code_span` builds the span;
:func:`plain` is its content, for a caller that writes the backticks itself.
"""

from __future__ import annotations

from typing import Any


def plain(text: Any, limit: int = 60) -> str:
    """``text`` on one line, backticks turned into quotes (so it cannot close the span), cut
    at ``limit`` characters with an ellipsis."""
    clean = " ".join(str(text).replace("`", "'").split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def code_span(text: Any, limit: int = 60) -> str:
    """``text`` as an inline code span: ``plain(text, limit)`` between backticks."""
    return f"`{plain(text, limit) or ' '}`"
