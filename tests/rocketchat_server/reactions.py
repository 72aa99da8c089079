"""Reacting to a message: Rocket.Chat's `executeSetReaction` + `setReaction`, shared by REST
`chat.react` and the DDP method `setReaction`.

* The emoji is normalised to `:name:` (every colon removed, then wrapped), so `eyes`,
  `:eyes:` and `::eyes` are the same reaction.
* `shouldReact` true adds, false removes, absent (or null) toggles; asking for the state the
  user is already in changes nothing and streams nothing.
* Quirk kept from the source: `userAlreadyReacted` is `undefined` when the message has no
  `reactions` at all, so `shouldReact: false` on such a message does not return early and
  then *adds* the reaction (`undefined === false` is false, and `setReaction` only removes
  when the user had reacted).
* Removing the last username deletes that emoji's entry; removing the last entry deletes
  `reactions` itself (`Messages.unsetReactions`).
* A reaction is not a new message: the message is re-emitted on `stream-room-messages` with
  the same `_id`, and no outgoing webhook fires.
"""

from __future__ import annotations

import re

from tests.rocketchat_server.errors import MeteorError, PlainError
from tests.rocketchat_server.permissions import has_permission
from tests.rocketchat_server.state import Doc, User, World

# The simulator has no emoji table: any well-formed shortname counts as a known emoji.
SHORTNAME = re.compile(r"[A-Za-z0-9_+\-]+")
DETAILS = {"method": "setReaction"}


def normalise(emoji: str) -> str:
    """`:name:` with every colon of the input removed first (what the server stores)."""
    return f":{emoji.replace(':', '')}:"


def set_reaction(world: World, user: User, emoji: str, message: Doc | None,
                 should_react: bool | None = None) -> None:  # fmt: skip
    """`executeSetReaction`; `message` None = unknown id (checked after the emoji, as there)."""
    reaction = normalise(emoji)
    if not SHORTNAME.fullmatch(reaction[1:-1]):
        raise MeteorError("error-not-allowed", "Invalid emoji provided.", dict(DETAILS))
    if message is None:
        raise MeteorError("error-not-allowed", "Not allowed", dict(DETAILS))
    reactions = message.get("reactions")
    already: bool | None = None
    if reactions is not None:
        already = user.username in reactions.get(reaction, {}).get("usernames", [])
    if should_react is None:
        should_react = not already
    if already is should_react:
        return  # nothing to change (never true while `reactions` is absent: see the quirk)
    room = world.rooms.get(message["rid"])
    if room is None:
        raise MeteorError("error-not-allowed", "Not allowed", dict(DETAILS))
    if not world.can_access(room, user):
        raise MeteorError("not-authorized", "Not Authorized", dict(DETAILS))
    read_only = room.get("ro") and not room.get("reactWhenReadOnly")
    if read_only and not has_permission(user, "post-readonly", world.room_roles(room, user)):
        raise PlainError("You can't send messages because the room is readonly.")
    world.react(room, message, user.username, reaction, remove=bool(already))
