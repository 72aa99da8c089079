"""The demo's second act: one alert's life as a living message in a channel.

After the seed exchange, a monitoring system (the demo, as the ``monitor`` webhook user)
reports ``db1 /var`` 97 % full: the ``disk_full`` rule (``conversation: thread``) opens an
alert and the bot posts one message in ``#ops`` with buttons. A second report repeats it (into
the message's thread), alice clicks **Acknowledge** (the button posts ``@atsd_bot ack N`` as
her), and a few seconds later a report below 90 % resolves it. The act prints the room and the
thread as a user would see them: the message edited to say who acknowledged it and how long
it lasted, its state reaction, the buttons, and the thread's replies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from bot.errors import DemoError

CHANNEL = "ops"
MONITOR = "monitor"
STEP_TIMEOUT = 30.0
POLL = 0.2
LASTS = 3.0  # seconds from the alert message to the report that resolves it
RULE = """# Written by 'atsd-bot demo run': the disk rule of examples/rules/disk-full.yml, posting
# into the demo's #ops channel as a living message (conversation: thread).
rules:
  - name: disk_full
    description: A disk at 90 % or more, per host and mount point.
    source: monitoring
    filter: "tags.used_percent != null AND tags.mount != null"
    window: length(1)
    group_by_entity: true
    group_by_tags: [mount]
    condition: "tags.used_percent >= 90"
    severity: MAJOR
    conversation: thread
    notifications:
      - endpoint: rocketchat
        name: Tell the ops room
        room: {room}
        open: ':warning: ${{entity}} ${{tags.mount}} is ${{tags.used_percent}} % full'
        repeat: 'still full: ${{entity}} ${{tags.mount}} at ${{tags.used_percent}} %'
        repeat_every: all
        cancel: ':white_check_mark: ${{entity}} ${{tags.mount}} is back to ${{tags.used_percent}} %'
"""


def create_channel(sim_url: str, admin_pw: str, members: list[str]) -> str:
    """``#ops`` with ``members``; its room id (for the rule's ``room``)."""
    login = requests.post(f"{sim_url}/api/v1/login",
                          json={"username": "admin", "password": admin_pw}, timeout=10)
    data = login.json().get("data") or {}
    headers = {"X-User-Id": str(data.get("userId")), "X-Auth-Token": str(data.get("authToken"))}
    made = requests.post(f"{sim_url}/api/v1/channels.create", headers=headers, timeout=10,
                         json={"name": CHANNEL, "members": members})
    if made.status_code != 200:
        raise DemoError(f"the simulator did not create #{CHANNEL}: {made.text[:200]}")
    return str(made.json()["channel"]["_id"])


def write_rule(directory: Path, room: str) -> Path:
    rules = directory / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    (rules / "disk-full.yml").write_text(RULE.format(room=room))
    return rules


class LivingAct:
    """Drives the act through atsd-bot's webhook and the simulator's control API."""

    def __init__(self, *, sim_url: str, sim_admin_password: str, atsd_url: str, room: str,
                 monitor_password: str, user: str, bot: str,
                 out: Callable[[str], None]) -> None:
        self.sim_url, self.atsd_url, self.room = sim_url, atsd_url, room
        self.sim_headers = {"X-Sim-Admin": sim_admin_password}
        self.monitor = (MONITOR, monitor_password)
        self.user, self.bot, self.out = user, bot, out

    def run(self) -> dict[str, Any]:
        """The whole act; the alert message as it ends."""
        self.out("")
        self.out(f"▶ the living alert message, in #{CHANNEL}:")
        self._report(97, "a monitoring webhook reports db1 /var at 97 %")
        root = self._wait("the alert message", lambda: self._roots()[:1])[0]
        opened = time.monotonic()
        self.out(f"  🤖 @{self.bot} posts one message: {root['msg']}  "
                 f"[{'] ['.join(self._labels(root))}]")
        self._report(98, "the next report: still 98 %")
        self._wait("the repeat in the thread", lambda: self._thread(root["_id"]))
        self.out(f"  👆 @{self.user} clicks Acknowledge")
        self._click(root["_id"], "Acknowledge")
        self._wait("the edit", lambda: "acknowledged" in self._message(root["_id"])["msg"])
        # a real alert lasts a while: let this one last a few seconds, so that the message
        # does not read "resolved after 0s"
        left = opened + LASTS - time.monotonic()
        self.out(f"  ⏳ the disk stays full for {LASTS:g} s")
        threading.Event().wait(max(0.0, left))
        self._report(42, "a report below 90 %: 42 %")
        final = self._wait("the resolution",
                           lambda: "resolved" in self._message(root["_id"])["msg"]
                           and self._message(root["_id"]).get("reactions", {}).get(
                               ":white_check_mark:") and self._message(root["_id"]))
        self._wait("the cancel text in the thread", lambda: len(self._thread(root["_id"])) >= 3)
        self._show(final)
        return dict(final)

    # -- steps --------------------------------------------------------------------------

    def _report(self, percent: int, what: str) -> None:
        self.out(f"  📡 {what}")
        answer = requests.post(
            f"{self.atsd_url}/api/v1/messages/webhook/monitoring",
            params={"command.entity": "host", "command.message": "mount"},
            json={"host": "db1", "mount": "/var", "used_percent": percent},
            auth=self.monitor, timeout=10)
        if answer.status_code != 200:
            raise DemoError(f"atsd-bot refused the monitoring webhook: {answer.status_code} "
                            f"{answer.text[:200]}")

    def _click(self, message_id: str, label: str) -> None:
        answer = requests.post(f"{self.sim_url}/_sim/click", headers=self.sim_headers,
                               json={"username": self.user, "messageId": message_id,
                                     "button": label}, timeout=10)
        if answer.status_code != 200:
            raise DemoError(f"the simulator refused the click: {answer.text[:200]}")

    def _wait(self, what: str, found: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            value = found()
            if value:
                return value
            if time.monotonic() > deadline:
                raise DemoError(f"no {what} within {STEP_TIMEOUT:g} s; see var/demo/*.log")
            time.sleep(POLL)  # polling the simulator with a deadline

    # -- what the room holds ------------------------------------------------------------

    def _messages(self) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.sim_url}/_sim/rooms/{self.room}/messages",
                              headers=self.sim_headers, timeout=10)
        answer.raise_for_status()
        return [m for m in answer.json().get("messages", []) if not m.get("t")]

    def _message(self, message_id: str) -> dict[str, Any]:
        answer = requests.get(f"{self.sim_url}/_sim/messages/{message_id}",
                              headers=self.sim_headers, timeout=10)
        answer.raise_for_status()
        found: dict[str, Any] = answer.json().get("message") or {}
        return found

    def _roots(self) -> list[dict[str, Any]]:
        return [m for m in self._messages() if (m.get("u") or {}).get("username") == self.bot
                and not m.get("tmid") and m.get("attachments")]

    def _thread(self, root: str) -> list[dict[str, Any]]:
        return [m for m in self._messages() if m.get("tmid") == root]

    @staticmethod
    def _labels(message: dict[str, Any]) -> list[str]:
        return [str(a.get("text")) for att in message.get("attachments") or []
                for a in att.get("actions") or []]

    def _show(self, root: dict[str, Any]) -> None:
        """The room, then the thread, as a Rocket.Chat user sees them."""
        self.out("")
        self.out(f"  ┌─ #{CHANNEL} ─────────────────────────────────────────────────────────")
        for message in self._messages():
            if message.get("tmid"):
                continue
            author = (message.get("u") or {}).get("username", "?")
            edited = "  (edited)" if message.get("editedAt") else ""
            lines = str(message.get("msg", "")).splitlines() or [""]
            self.out(f"  │ @{author}: {lines[0]}{edited}")
            for line in lines[1:]:
                self.out(f"  │   {line}")
            if message["_id"] == root["_id"]:
                self.out(f"  │   [{'] ['.join(self._labels(message))}]")
                reactions = message.get("reactions") or {}
                if reactions:
                    self.out("  │   " + "  ".join(f"{e} {len(r.get('usernames', []))}"
                                                  for e, r in reactions.items()))
                replies = self._thread(root["_id"])
                self.out(f"  │   💬 {len(replies)} replies in the thread:")
                for reply in replies:
                    who = (reply.get("u") or {}).get("username", "?")
                    self.out(f"  │     ↳ @{who}: {reply.get('msg', '')}")
        self.out("  └──────────────────────────────────────────────────────────────────")
        self.out("")
