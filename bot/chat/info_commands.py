"""Chat commands that only look: ``help``, ``why``, ``rules``, ``status``, ``test``.

``why`` (spec: conversation, section 4) explains a stored message from what the engine
recorded when it processed it (:mod:`rules.engine.explain`).

**Decision (why and rooms):** ``why`` explains only messages of the room it is asked in, so an
answer never shows another room's messages or what the rules did with them. A message that
did not come from Rocket.Chat (another service's webhook) belongs to no room: bot admins may
ask about it anywhere, others are refused. The web UI's message page shows every message.
"""

from __future__ import annotations

import re

from bot.chat.commands import (
    MAX_ANSWER,
    Answer,
    Kit,
    Refused,
    Request,
    Usage,
    code,
    help_for,
    help_text,
    parse_id,
)
from bot.chat.replies import format_dry_run, format_rules, format_status
from rules.command import MessageCommand
from rules.engine.explain import explain
from rules.message_keys import ChatInput
from rules.store import explanations

_CHAT_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
_LINK = re.compile(r"[?&]msg=([A-Za-z0-9_-]{6,64})")


def help_command(kit: Kit, request: Request) -> Answer:
    if not request.args:
        return Answer(help_text(kit.commands, kit.admin_hint))
    if len(request.args) > 1:
        raise Usage("name one command")
    command = kit.commands.get(request.args[0].lower())
    if command is None:
        names = ", ".join(f"`{n}`" for n in kit.commands)
        raise Refused(f"no command `{code(request.args[0], 30)}`; the commands: {names}")
    return Answer(help_for(command, kit.admin_hint))


def rules(kit: Kit, request: Request) -> Answer:
    if request.args:
        raise Usage("`rules` takes no arguments")
    return Answer(format_rules(kit.engine.rules())[:MAX_ANSWER])


def status(kit: Kit, request: Request) -> Answer:
    if request.args:
        raise Usage("`status` takes no arguments")
    return Answer(format_status(kit.status(request.conn)))


def test(kit: Kit, request: Request) -> Answer:
    if len(request.args) < 2:
        raise Usage("give a rule name and a message")
    name = request.args[0]
    rule = next((r for r in kit.engine.rules() if r.name == name), None)
    if rule is None:
        raise Refused(f"no rule named `{code(name, 60)}` (see `rules`)")
    text = request.text.split(None, 2)[2]
    command = chat_command(request.message, text, kit)
    return Answer(format_dry_run(name, kit.engine.dry_run(rule, [command]))[:MAX_ANSWER])


def chat_command(message: ChatInput, text: str, kit: Kit) -> MessageCommand:
    """The message command both paths make for a chat message, with ``text`` as its text."""
    tags = {"bot": "false", "channel_id": message.room_id, "message_id": message.message_id,
            "user_id": message.user_id, "user_name": message.username, "tmid": message.tmid}
    return MessageCommand(entity="rocket.chat", source="rocket.chat", type="webhook",
                          date=kit.clock.now(), message=text.strip(),
                          tags={k: v for k, v in tags.items() if v})


def why(kit: Kit, request: Request) -> Answer:
    if len(request.args) > 1:
        raise Usage("give at most one message id")
    message_id = _message_id(request)
    found = explain(request.conn, message_id)
    if found is None:
        raise Refused(f"no stored message #{message_id}")
    room = found.room_id
    if room != request.message.room_id and not (room is None and request.admin):
        raise Refused("I explain only messages of the room you ask in, so that no answer "
                      "shows another room; ask there, or see the message in the web UI")
    return Answer("\n".join(found.lines())[:MAX_ANSWER])


def _message_id(request: Request) -> int:
    message = request.message
    if not request.args:
        found = explanations.previous_in_room(request.conn, message.room_id, message.user_id,
                                              message.username)
        if found is None:
            raise Refused("I have no earlier message of yours in this room (commands are not "
                          "messages for the rules); give a message id: `why MESSAGE_ID`")
        return found
    word = request.args[0]
    if word.lstrip("#").isdigit():
        return parse_id(word, "a message")
    link = _LINK.search(word)
    chat_id = link.group(1) if link else word if _CHAT_ID.match(word) else None
    if chat_id is None:
        raise Usage(f"`{code(word, 30)}` is not a message id: give N, #N, a Rocket.Chat "
                    "message id or a message link")
    stored = explanations.message_by_chat_id(request.conn, chat_id)
    if stored is None:
        raise Refused(f"no stored message for Rocket.Chat message `{code(chat_id, 64)}`")
    return stored
