"""`--state FILE`: save the simulator's world as JSON on stop and load it on start.

Dates are stored as EJSON `{"$date": ms}`. Users keep their password digest and tokens so
that a restarted simulator accepts the same logins and personal access tokens (the file is a
test artefact: keep it out of version control). Workspace settings are kept; deliveries are
not persisted.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from tests.rocketchat_server.codec import from_ejson, to_ejson
from tests.rocketchat_server.state import Token, User, World


def save(world: World, path: str) -> None:
    with world.lock:
        data = {
            "users": [asdict(u) for u in world.users.values()],
            "rooms": list(world.rooms.values()),
            "subscriptions": list(world.subscriptions.values()),
            "messages": world.messages,
            "integrations": list(world.integrations.values()),
            "settings": world.settings,
        }
        text = json.dumps(to_ejson(data))
    target = Path(path)
    temporary = target.with_suffix(target.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)


def load(world: World, path: str) -> bool:
    """Replace the world's content with the file's; False when there is no file yet."""
    source = Path(path)
    if not source.exists():
        return False
    data = from_ejson(json.loads(source.read_text(encoding="utf-8")))
    with world.lock:
        world.users.clear()
        for raw in data["users"]:
            raw["tokens"] = [Token(**t) for t in raw["tokens"]]
            user = User(**raw)
            world.users[user.id] = user
        world.rooms = {r["_id"]: r for r in data["rooms"]}
        world.subscriptions = {(s["rid"], s["u"]["_id"]): s for s in data["subscriptions"]}
        world.messages = {rid: list(msgs) for rid, msgs in data["messages"].items()}
        world.message_index = {m["_id"]: m for msgs in world.messages.values() for m in msgs}
        world.integrations = {i["_id"]: i for i in data["integrations"]}
        world.settings.update(data.get("settings", {}))  # files from before settings existed
    return True
