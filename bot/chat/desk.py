"""The one chat command recognizer both inbound paths call: :class:`CommandDesk`.

For a message addressed to the bot (:func:`rules.message_keys.addressed_text`: a DM, a
leading mention, or the webhook's trigger word) whose first word names a command, the desk:

1. checks, before anything is written, whether the author is a bot admin (when the command
   needs it: ``users.info`` may be asked);
2. claims the message in :meth:`rules.ingest.Ingestor.once`: one transaction claims its
   once-only key (``cmd:`` + the key both paths share, and the key itself, so the message
   never reaches the rules) and writes the answer as an outbox row (rule ``chat``, trigger
   ``reply``) to the message's room and thread. A command that changes state (the admin
   commands) makes its change in that same transaction; one that only looks is answered
   just before, on a connection of its own (on SQLite a second connection inside the
   transaction would wait for the transaction's own write lock);
3. names the answer's row to ``once``, whose hooks (after the commit) hand it to the sender,
   which posts it through the Rocket.Chat endpoint (a stable ``_id`` per row: a resend after
   a crash is a no-op).

So the answer goes out exactly once whichever path saw the message first, and a crash
between receipt and answer neither loses it (a webhook that got no ``200`` is retried by
Rocket.Chat; after the commit the row waits in the outbox) nor doubles it.

Everything else (not addressed, or the first word is no command) returns None: the caller
hands the message to the rules as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial

from sqlalchemy import Connection

from bot.chat.commands import Answer, Command, Kit, Refused, Request, Usage
from bot.chat.table import COMMANDS
from bot.rest import metrics
from rules.engine.silencing import chat_row
from rules.ingest import Ingestor
from rules.message_keys import ChatInput, addressed_text
from rules.notification import Notification

log = logging.getLogger(__name__)


class CommandDesk:
    """Implements :class:`rules.message_keys.ChatCommands`."""

    def __init__(self, ingestor: Ingestor, kit: Kit, *,
                 is_admin: Callable[[str | None, str | None], bool],
                 bot_username: Callable[[], str | None],
                 table: Mapping[str, Command] = COMMANDS) -> None:
        self.ingestor = ingestor
        self.kit = kit
        self.kit.commands = table
        self.is_admin = is_admin
        self.bot_username = bot_username
        self.table = table

    def recognise(self, message: ChatInput) -> tuple[Command, str] | None:
        """The command and the addressed text, or None when this is no command."""
        text = addressed_text(message, self.bot_username())
        words = text.split() if text else []
        command = self.table.get(words[0].lower()) if words else None
        return (command, str(text)) if command is not None else None

    def __call__(self, message: ChatInput, *, path: str) -> str | None:
        found = self.recognise(message)
        if found is None:
            return None
        command, text = found
        admin = (command.admin or command.name == "why") and self.is_admin(
            message.user_id, message.username)

        def request(conn: Connection) -> Request:
            return Request(message, command.name, text.split()[1:], text, conn, admin)

        posted: list[Notification] = []  # the answer's row, which once's hooks hand over
        once = partial(self.ingestor.once, message.key, path=path,
                       notifications=lambda _answer: posted)
        try:
            if command.admin:  # a change: made in the transaction that claims the message
                answer = once(work=lambda conn: self._change(conn, request(conn), posted))
            else:  # a look: answered first (it may read what it likes), then claimed
                with self.ingestor.db.connect() as conn:
                    looked = self._run(command, request(conn))
                answer = once(work=lambda conn: self._posted(conn, message, looked, posted))
        except Exception as exc:  # a failing command must answer, not vanish
            log.exception("chat command %s failed", command.name)
            answer = self._failed(message, command, path, exc)
        if answer is None:  # answered before (counted by the ingest hook)
            return "duplicate"
        metrics.CHAT_COMMANDS.labels(command=command.name, outcome=answer.outcome).inc()
        return "command"

    def _change(self, conn: Connection, request: Request,
                posted: list[Notification]) -> Answer:
        command = self.table[request.name]
        if not request.admin:
            answer = Answer(f"Sorry {request.asker}, `{command.name}` is for bot admins: "
                            f"{self.kit.admin_hint}.", "refused")
        elif not self.ingestor.runs_engine:
            answer = Answer("This instance does not run the rule engine now (another holds "
                            "the lease); try again in a few seconds.", "refused")
        else:
            answer = self._run(command, request)
        return self._posted(conn, request.message, answer, posted)

    def _posted(self, conn: Connection, message: ChatInput, answer: Answer,
                posted: list[Notification]) -> Answer:
        if answer.text is not None:
            posted.append(self._post(conn, message, answer.text))
        return answer

    def _run(self, command: Command, request: Request) -> Answer:
        assert command.handler is not None
        try:
            return command.handler(self.kit, request)
        except Usage as exc:
            return Answer(command.usage(exc.detail), "usage")
        except Refused as exc:
            return Answer(str(exc), "refused")

    def _post(self, conn: Connection, message: ChatInput, text: str) -> Notification:
        return chat_row(conn, text, room_id=message.room_id, tmid=message.tmid, trigger="reply",
                 now=self.kit.clock.now())

    def _failed(self, message: ChatInput, command: Command, path: str,
                exc: Exception) -> Answer | None:
        text = f"Sorry, `{command.name}` failed: {type(exc).__name__}. It changed nothing."
        posted: list[Notification] = []

        def work(conn: Connection) -> Answer:
            posted.append(self._post(conn, message, text))
            return Answer(text, "error")

        try:
            return self.ingestor.once(message.key, path=path, work=work,
                                      notifications=lambda _answer: posted)
        except Exception:  # the store itself fails: the message is retried or back-filled
            log.exception("chat command %s: not even the apology could be stored",
                          command.name)
            raise
