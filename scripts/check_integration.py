"""Self-test: post a probe DM to the bot as the admin and watch it arrive at atsd-bot.

    python -m scripts.check_integration --server URL --admin-user U --admin-password P \\
        --bot-username atsd_bot --atsd-url http://atsd-bot:8088 \\
        --api-user ops --api-password P [--realtime auto|require|off] [--wait 30]

What it proves, per inbound path:

* **webhook**: Rocket.Chat's outgoing integration delivered the probe to atsd-bot. Seen in
  atsd-bot's request log (``GET /api/v1/webhooks/requests``, role ``api``) as a request whose
  body carries the probe's message id, answered ``200`` (``stored`` or ``duplicate``). A
  ``401``/``403`` there means the integration's credentials or token do not match atsd-bot's
  config, and the run stops at once saying so.
* **realtime**: the bot's own DDP connection heard the probe. Each Rocket.Chat message is
  processed once, whichever path is first, so realtime is credited when the stored command
  (``POST /api/v1/messages/query`` by ``message_id`` tag) appears while the webhook has not
  stored it: the webhook's copy is then logged as ``duplicate`` or never comes. When the
  webhook stores it first, realtime's copy is dropped silently and cannot be timed: the
  path then counts as seen (``rtt_ms`` null) once ``/healthz`` reports a realtime event at
  or after the probe (any event counts, so this is a liveness check, not a proof), and as
  "not running" when ``/healthz`` says realtime is not subscribed.

Round-trip times are measured from just before ``chat.postMessage`` to the poll that first
saw the arrival, so they include up to one ``--poll-interval`` (default 0.1 s) of slack.
Exit 0 when the webhook path (and realtime with ``--realtime require``) saw the probe within
``--wait`` seconds, else exit 6 with one line naming what was not seen and where to look.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from bot.exit_codes import (
    EXIT_INTERNAL,
    EXIT_NOT_SEEN,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)
from bot.rest.client import RestClient, iso_ms
from rules.clock import aware
from scripts.common import ProvisionError, admin_client, checked_url, parser, require_bot_user
from scripts.common import progress as say
from scripts.common import run as run_script

# atsd-bot's and this machine's clocks may differ a little (same host or NTP in practice)
CLOCK_SLACK = timedelta(seconds=1)


def make_parser(environ: Mapping[str, str] | None = None,
                prog: str = "atsd-bot-check-integration") -> argparse.ArgumentParser:
    p = parser(prog,
               "Post a probe DM to the bot and verify it reaches atsd-bot.", environ,
               examples=["atsd-bot setup check --server https://chat.example.com "
                         "--admin-user admin --bot-username atsd_bot --atsd-url "
                         "http://127.0.0.1:8088 --api-user admin   # passwords from "
                         "ATSD_BOT_PROVISION_ADMIN_PASSWORD and ..._API_PASSWORD"],
               codes=(EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_REJECTED, EXIT_UNAVAILABLE,
                      EXIT_NOT_SEEN))
    p.option("--bot-username", required=True, metavar="NAME", help="the bot's username")
    p.option("--atsd-url", required=True, metavar="URL", help="atsd-bot's base URL")
    p.option("--api-user", required=True, metavar="USER", help="an atsd-bot user with role api")
    p.option("--api-password", required=True, metavar="PASSWORD", help="that user's password")
    p.option("--realtime", choices=("auto", "require", "off"), default="auto",
             help="auto: report realtime if it runs; require: fail without it; off: skip")
    p.option("--wait", type=float, default=30.0, metavar="SECONDS",
             help="how long to wait for the probe")
    p.option("--poll-interval", type=float, default=0.1, metavar="SECONDS",
             help="how often to ask atsd-bot whether the probe arrived")
    return p


class Atsd:
    """The two read-only atsd-bot APIs the check polls, with HTTP Basic credentials."""

    def __init__(self, url: str, user: str, password: str, timeout: float) -> None:
        self.url = checked_url("--atsd-url", url, "--api-user and --api-password")
        self.session = requests.Session()
        self.session.auth = (user, password)
        self.timeout = timeout

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.session.request(method, self.url + path, timeout=self.timeout,
                                            **kwargs)
        except requests.RequestException:
            raise ProvisionError(f"cannot reach atsd-bot at {self.url}; check --atsd-url and "
                                 "that atsd-bot is running", EXIT_UNAVAILABLE) from None
        if response.status_code in (401, 403):
            raise ProvisionError(f"atsd-bot refused --api-user (HTTP {response.status_code}); "
                                 "give a configured user with role api", EXIT_REJECTED)
        if response.status_code >= 400:
            raise ProvisionError(f"atsd-bot answered HTTP {response.status_code} on {path}; "
                                 "is --atsd-url atsd-bot?", EXIT_UNAVAILABLE)
        try:
            return response.json()
        except ValueError:
            raise ProvisionError(f"atsd-bot's {path} did not answer JSON; is --atsd-url "
                                 "atsd-bot?", EXIT_UNAVAILABLE) from None

    def requests_log(self) -> list[dict[str, Any]]:
        found = self._call("GET", "/api/v1/webhooks/requests", params={"limit": 100})
        return list(found) if isinstance(found, list) else []

    def stored(self, message_id: str, since: datetime) -> bool:
        query = [{"entity": "*", "startDate": iso_ms(since - timedelta(minutes=5)),
                  "endDate": iso_ms(datetime.now(UTC) + timedelta(minutes=5)),
                  "tags": {"message_id": message_id}, "limit": 1}]
        found = self._call("POST", "/api/v1/messages/query", json=query)
        return bool(found)

    def health(self) -> dict[str, Any]:
        try:
            response = self.session.get(self.url + "/healthz", timeout=self.timeout)
            report = response.json()
        except (requests.RequestException, ValueError):
            return {}
        return report if isinstance(report, dict) else {}


def provision(args: argparse.Namespace, client_factory: type[RestClient] = RestClient,
              ) -> dict[str, Any]:
    atsd = Atsd(args.atsd_url, args.api_user, args.api_password, args.timeout)
    atsd.requests_log()  # credentials and URL checked before anything is posted
    admin = admin_client(args, client_factory)
    require_bot_user(admin, args.bot_username)
    text = f"atsd-bot self-test {secrets.token_hex(4)}"
    if args.dry_run:  # not even the DM is opened
        say(f"would post {text!r} to @{args.bot_username} and wait up to {args.wait:g} s")
        return {"status": "planned", "dry_run": True, "probe": {"text": text}}
    room = admin.dm_create(args.bot_username)
    room_id = str(room.get("rid") or room.get("_id"))
    sent_at = datetime.now(UTC)
    started = time.monotonic()
    message = admin.chat_post_message(room_id=room_id, text=text)
    message_id = str(message.get("_id"))
    say(f"posted probe {message_id} to @{args.bot_username}; waiting up to {args.wait:g} s")
    paths = watch(atsd, message_id, sent_at, started, args)
    _check_seen(paths, args)
    return {"status": "ok", "dry_run": False, "paths": paths,
            "probe": {"message_id": message_id, "room_id": room_id, "text": text}}


def _check_seen(paths: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    """Fail when a required path missed the probe; else say how long each one took."""
    missing = [name for name, seen in paths.items()
               if not seen.get("seen") and (name == "webhook" or args.realtime == "require")]
    if missing:
        raise ProvisionError(_not_seen(missing, paths, args), EXIT_NOT_SEEN)
    for name, seen in paths.items():
        timed = seen.get("rtt_ms") is not None
        say(f"{name}: " + (f"arrived in {seen['rtt_ms']:.0f} ms" if timed
                           else seen.get("note") or "not seen"))


def watch(atsd: Atsd, message_id: str, sent_at: datetime, started: float,
          args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Poll until every wanted path has seen the probe or ``--wait`` is over."""
    webhook: dict[str, Any] = {"seen": False}
    realtime: dict[str, Any] = {"seen": False}
    want_realtime = args.realtime != "off"
    deadline = started + args.wait
    while True:
        entry = _find(atsd.requests_log(), message_id)
        if entry is not None and not webhook["seen"]:
            _check_entry(entry)
            webhook = {"seen": True, "rtt_ms": _ms_since(started),
                       "outcome": entry.get("outcome"), "status": entry.get("status")}
        if want_realtime and not realtime["seen"] and "note" not in realtime:
            realtime = _realtime_step(atsd, message_id, sent_at, started, webhook)
        realtime_done = not want_realtime or realtime["seen"] or "note" in realtime
        if (webhook["seen"] and realtime_done) or time.monotonic() >= deadline:
            break
        time.sleep(args.poll_interval)
    paths = {"webhook": webhook}
    if want_realtime:
        realtime.setdefault("note", "" if realtime["seen"] else "not seen")
        realtime["health"] = _realtime_health(atsd)
        paths["realtime"] = realtime
    return paths


def _realtime_step(atsd: Atsd, message_id: str, sent_at: datetime, started: float,
                   webhook: Mapping[str, Any]) -> dict[str, Any]:
    """One look for the realtime path's arrival (see the module docstring for the rules)."""
    if webhook.get("outcome") != "stored":
        if atsd.stored(message_id, sent_at):
            return {"seen": True, "rtt_ms": _ms_since(started)}
        return {"seen": False}
    # The webhook stored it first, so realtime's copy is a silent duplicate: all that shows
    # is the realtime path's last event in /healthz (any event after the probe counts).
    health = _realtime_health(atsd) or {}
    if not health.get("subscribed"):
        return {"seen": False, "note": "realtime is not running (see health)"}
    last = _parse_iso(health.get("last_event"))
    if last is not None and last >= sent_at - CLOCK_SLACK:
        return {"seen": True, "rtt_ms": None,
                "note": "heard after the webhook had stored the probe; not timed"}
    return {"seen": False}


def _realtime_health(atsd: Atsd) -> dict[str, Any] | None:
    found = atsd.health().get("paths", {}).get("realtime")
    return found if isinstance(found, dict) else None


def _parse_iso(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return aware(moment)


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _find(entries: list[dict[str, Any]], message_id: str) -> dict[str, Any] | None:
    """The oldest logged request that carries the probe's message id (in body or command)."""
    hits = [e for e in entries if message_id in json.dumps(e, default=str)]
    return hits[-1] if hits else None  # the log is newest first


def _check_entry(entry: Mapping[str, Any]) -> None:
    status = entry.get("status")
    if status in (401, 403):
        raise ProvisionError(
            f"atsd-bot refused the integration's request (HTTP {status}: "
            f"{entry.get('error') or 'see Security Incidents'}); re-run "
            "atsd-bot-create-integration and put its [[users]] and [webhook.tokens] lines in "
            "atsd-bot's config", EXIT_REJECTED)
    if status != 200:
        raise ProvisionError(f"atsd-bot answered the integration's request with HTTP {status} "
                             f"({entry.get('error') or entry.get('outcome')}); see atsd-bot's "
                             "Incoming Webhooks page", EXIT_NOT_SEEN)


def _not_seen(missing: list[str], paths: Mapping[str, Any], args: argparse.Namespace) -> str:
    hints = {
        "webhook": "check the integration (enabled, channel @" + args.bot_username
                   + ", URL reachable from Rocket.Chat) and its History in Administration > "
                   "Integrations",
        "realtime": "check atsd-bot's [rocketchat] settings and /healthz "
                    f"(realtime: {paths.get('realtime', {}).get('health')})",
    }
    return "; ".join(f"{name} path did not see the probe within {args.wait:g} s: {hints[name]}"
                     for name in missing)


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """The script; ``prog`` names it when reached as ``atsd-bot setup …``."""
    return run_script(provision, make_parser, argv, prog)


if __name__ == "__main__":
    sys.exit(main())
