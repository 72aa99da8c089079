"""The demo's window on the loop: what the user said, the command, the alert, the bot's reply.

:class:`Conversation` polls three places and prints what is new, in the order a reader
follows it: the chat room (the simulator's control surface, so no rate limit applies), the
messages atsd-bot stored (``POST /api/v1/messages/query``) and its open alerts
(``POST /api/v1/alerts/query``), both as the demo's API user.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

TIMEOUT = 5.0


@dataclass
class Line:
    kind: str  # said | command | alert | reply
    text: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Conversation:
    sim_url: str
    sim_admin_password: str
    atsd_url: str
    api_auth: tuple[str, str]
    bot_username: str
    since: datetime
    room_id: str | None = None
    out: Callable[[str], None] = print
    # the living-message act tells its own story (bot/demo/living.py): not repeated here
    skip_sources: tuple[str, ...] = ("monitoring",)
    skip_rules: tuple[str, ...] = ("disk_full",)
    lines: list[Line] = field(default_factory=list)
    _seen_messages: set[str] = field(default_factory=set)
    _seen_commands: set[str] = field(default_factory=set)
    _alerts: dict[Any, int] = field(default_factory=dict)

    def poll(self) -> list[Line]:
        """Fetch everything new once, print it, return it."""
        # Read in the reverse of cause and effect: a reply or an alert seen here was committed
        # with its command, so the commands read after them include it (read the other way
        # round, an alert committed between the two reads would print before its command).
        room = self._room_messages()
        alerts = self._alert_changes()
        new = [m for m in room if not m.get("bot_reply")]
        new += self._commands()
        new += alerts
        new += [m for m in room if m.get("bot_reply")]
        lines = [m["line"] for m in new]
        for line in lines:
            self.out(line.text)
        self.lines += lines
        return lines

    def replies(self) -> list[Line]:
        return [line for line in self.lines if line.kind == "reply"]

    # -- sources ------------------------------------------------------------------------

    def _room_messages(self) -> list[dict[str, Any]]:
        if not self.room_id:
            return []
        answer = requests.get(f"{self.sim_url}/_sim/rooms/{self.room_id}/messages",
                              headers={"X-Sim-Admin": self.sim_admin_password},
                              timeout=TIMEOUT)
        answer.raise_for_status()
        found = []
        for msg in answer.json().get("messages", []):
            if msg.get("_id") in self._seen_messages or msg.get("t"):
                continue
            self._seen_messages.add(msg["_id"])
            author = (msg.get("u") or {}).get("username", "?")
            is_bot = author == self.bot_username
            stamp = _clock(msg.get("ts"))
            if is_bot:
                text = f"{stamp}  🤖 @{author} replies in the room: {msg.get('msg', '')}"
            else:
                text = f"{stamp}  💬 @{author} says: {msg.get('msg', '')}"
            found.append({"bot_reply": is_bot, "line": Line("reply" if is_bot else "said",
                                                            text, msg)})
        return found

    def _commands(self) -> list[dict[str, Any]]:
        query = [{"entity": "*", "startDate": _iso(self.since - timedelta(minutes=1)),
                  "endDate": _iso(datetime.now(UTC) + timedelta(minutes=1)), "limit": 100}]
        records = self._api("/api/v1/messages/query", query)
        found = []
        for record in reversed(records):  # the API answers newest first
            tags = record.get("tags") or {}
            key = tags.get("message_id") or json.dumps(record, sort_keys=True)
            if key in self._seen_commands or record.get("source") in self.skip_sources:
                continue
            self._seen_commands.add(key)
            shown = {k: tags[k] for k in ("channel_id", "user_name", "message_id") if k in tags}
            text = (f"           ⚙️  command: entity={record.get('entity')} "
                    f"type={record.get('type')} source={record.get('source')} "
                    f"message={record.get('message')!r} tags={shown}")
            found.append({"line": Line("command", text, record)})
        return found

    def _alert_changes(self) -> list[dict[str, Any]]:
        query = [{"entity": "*", "startDate": _iso(self.since - timedelta(minutes=1)),
                  "endDate": "now"}]
        found = []
        for alert in self._api("/api/v1/alerts/query", query):
            key = alert.get("id")
            if alert.get("rule") in self.skip_rules:
                continue
            count = int(alert.get("repeatCount") or 0)
            before = self._alerts.get(key)
            if before is not None and before >= count:
                continue
            self._alerts[key] = count
            status = "opened" if before is None and count == 0 else f"repeated ({count})"
            text = (f"           🚨 alert #{key} {status}: rule {alert.get('rule')}, "
                    f"severity {alert.get('severity')}, entity {alert.get('entity')}")
            found.append({"line": Line("alert", text, alert)})
        return found

    def _api(self, path: str, body: Any) -> list[dict[str, Any]]:
        try:
            answer = requests.post(self.atsd_url + path, json=body, auth=self.api_auth,
                                   timeout=TIMEOUT)
        except requests.RequestException:
            return []  # atsd-bot is restarting or stopping; the next poll tries again
        if answer.status_code != 200:
            self.out(f"           (atsd-bot {path} answered {answer.status_code}: "
                     f"{answer.text[:200]})")
            return []
        data = answer.json()
        return data if isinstance(data, list) else []


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _clock(ts: Any) -> str:
    """A message's time in this machine's zone, HH:MM:SS (the simulator sends ISO or EJSON)."""
    moment: datetime | None = None
    if isinstance(ts, dict) and "$date" in ts:
        moment = datetime.fromtimestamp(ts["$date"] / 1000, UTC)
    elif isinstance(ts, str):
        try:
            moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        except ValueError:
            moment = None
    return (moment or datetime.now(UTC)).astimezone().strftime("%H:%M:%S")
