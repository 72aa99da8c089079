"""Message attachments with action buttons, and what a click on one does.

Attachments are stored as sent (`attachments[].actions[]` with `type: "button"`, `text`, and
`url`/`is_webview` or `msg` + `msg_in_chat_window` + `msg_processing_type`;
`attachments[].button_alignment`); attachments.py checks them on the way in.

A click is done by the clicking user's *client*, not the server: a `msg_in_chat_window` button
whose processing type is `sendMessage` (the default) makes that user send `msg` as an ordinary
message into the room (DDP `sendMessage`), so streams and outgoing webhooks deliver it like
any other message. `url` buttons only open a link, and `respondWithMessage` /
`respondWithQuotedMessage` only fill the composer: nothing reaches the server.
"""

from __future__ import annotations

from tests.rocketchat_server import messaging
from tests.rocketchat_server.state import Doc, User, World


def buttons(message: Doc) -> list[Doc]:
    """Every action of every attachment, in display order."""
    found: list[Doc] = []
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, dict):
            found += [a for a in attachment.get("actions") or [] if isinstance(a, dict)]
    return found


def find_button(message: Doc, button: str | int) -> Doc:
    """The button labelled `button` (its `text`), or the `button`-th one counting from 0."""
    found = buttons(message)
    if isinstance(button, int) and not isinstance(button, bool):
        if 0 <= button < len(found):
            return found[button]
    else:
        for action in found:
            if action.get("text") == button:
                return action
    labels = [a.get("text") for a in found]
    raise ValueError(f"message {message['_id']} has no button {button!r}; buttons: {labels}")


def click(world: World, user: User, message_id: str, button: str | int) -> Doc | None:
    """What `user`'s client does on a click; returns the message it sent, if any."""
    message = world.message_index.get(message_id)
    if message is None:
        raise ValueError(f"no message with id {message_id!r}")
    room = world.rooms[message["rid"]]
    if not world.can_access(room, user):
        raise ValueError(f"{user.username} cannot see room {room['_id']}, so cannot click there")
    action = find_button(message, button)
    kind = action.get("msg_processing_type") or "sendMessage"
    if not (action.get("msg_in_chat_window") and action.get("msg") and kind == "sendMessage"):
        return None  # a link opens in the browser, or the text only lands in the composer
    fields = {"rid": room["_id"], "msg": str(action["msg"])}
    return messaging.send_message(world, user, fields)
