"""Text a person wrote, shown back in a chat message without becoming the bot's markup.

A comment, reason or matcher could hold ``@all``, ``*bold*``, links or backticks; inside a
code span Rocket.Chat renders none of that and notifies nobody (a mention in inline code is
not a mention, RocketChat/Rocket.Chat#7759). :func:`code_span` builds the span;
:func:`plain` is its content, for a caller that writes the backticks itself.

Where the contract shows a person's text as plain words (a reason in a living alert message:
``acknowledged by @alice: looking``), :func:`mention_free` keeps the words and only stops a
``@name`` in them from notifying anyone.
"""

from __future__ import annotations

import re
from typing import Any


def plain(text: Any, limit: int = 60) -> str:
    """``text`` on one line, backticks turned into quotes (so it cannot close the span), cut
    at ``limit`` characters with an ellipsis."""
    clean = " ".join(str(text).replace("`", "'").split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def code_span(text: Any, limit: int = 60) -> str:
    """``text`` as an inline code span: ``plain(text, limit)`` between backticks."""
    return f"`{plain(text, limit) or ' '}`"


# U+2060 WORD JOINER after "@": Rocket.Chat no longer sees a mention, a reader sees no change
_MENTION = re.compile(r"@(?=[\w.-])")


def mention_free(text: Any, limit: int = 60) -> str:
    """``text`` on one line, cut at ``limit`` characters, with every ``@name`` (``@all`` and
    ``@here`` too) made plain text: shown as written, notifying nobody."""
    clean = " ".join(str(text).split())
    clean = clean if len(clean) <= limit else clean[: limit - 1] + "…"
    return _MENTION.sub("@\u2060", clean)
