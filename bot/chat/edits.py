"""One once-only key per edit of a message, whichever path (webhook or realtime) saw it.

The realtime path keys an edited message ``rc:<id>@<editedAt ms>``
(:func:`bot.chat.messages.message_key`).
Rocket.Chat's outgoing webhook carries ``isEdited`` but no ``editedAt``, so on its own the
webhook path could only key ``rc:<id>@edited``, and with ``edits = "process"`` an edit heard on
both paths would run twice. :func:`webhook_edit_stamp` closes that gap: when ``[rocketchat]`` is
configured, the webhook path reads the message with ``chat.getMessage`` and uses its
``editedAt`` exactly as the realtime path does.

**Decision:** when Rocket.Chat cannot be asked (unreachable, refused, not logged in yet, or the
message is gone) the stamp falls back to ``edited``, as before: the webhook is answered anyway
(it must not fail because the chat server is busy), at the cost that such an edit may then also
be processed once by the realtime path. The fetch is made only for edited messages, with the
REST client's own timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.chat.messages import edit_stamp

log = logging.getLogger(__name__)

FALLBACK = "edited"


def webhook_edit_stamp(rest: Callable[[], Any]) -> Callable[[str], str]:
    """A function from a message id to its edit stamp, for the webhook's once-only key.

    ``rest`` returns the current REST client (one with ``chat_get_message``)."""

    def stamp(message_id: str) -> str:
        try:
            message = rest().chat_get_message(message_id)
        except Exception as exc:  # any failure: the documented fallback, never a 500
            log.warning("edit of message %s: Rocket.Chat could not be asked for editedAt "
                        "(%s); keyed %r", message_id, type(exc).__name__, FALLBACK)
            return FALLBACK
        found = edit_stamp(message) if isinstance(message, dict) else None
        if found is None:
            log.info("edit of message %s: no editedAt from Rocket.Chat; keyed %r",
                     message_id, FALLBACK)
        return found or FALLBACK

    return stamp
