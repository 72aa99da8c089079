"""Create or update the Rocket.Chat outgoing webhook that feeds atsd-bot (found by name).

    python -m scripts.create_outgoing_integration --server URL --admin-user U --admin-password P \\
        --bot-username atsd_bot --webhook-url https://atsd-bot:8088 \\
        --webhook-user rocketchat --webhook-password P [--name NAME] [--channel @atsd_bot] \\
        [--trigger-words W,...] [--token T] [--retry COUNT] [--dry-run]

The integration: type ``webhook-outgoing``, event ``sendMessage``, enabled, posting as the
bot, for ``@<bot>`` (every DM to the bot) by default, to
``<webhook-url>/api/v1/messages/webhook/rocket.chat?command.message=text&exclude=text``, with
a secret body ``token`` and a script that adds the webhook user's Basic credentials.

Decisions:

* The message text travels in the JSON body (``command.message=text`` names the field), never
  in the URL, so the seed's encoding bug cannot happen: the script adds nothing to the URL
  (it returns ``request.url`` as configured, whose query is fixed and already encoded). A
  future parameter must go through ``encodeURIComponent``; the script says so.
* Credentials go through the script's ``auth`` field (an ``Authorization: Basic`` header),
  never ``user:pass@`` in the URL, which Rocket.Chat would show in its UI and history.
* The script returns ``headers`` and the body as both ``data`` and ``content``: current
  servers (isolated-vm engine, server-fetch) fail without ``headers`` and read only ``data``;
  the seed-era servers (Meteor HTTP) read ``content`` (``data`` wins there too, same body).
* The token: ``--token`` if given, else the existing integration's token (kept on update so
  atsd-bot's config stays valid), else a new ``secrets.token_urlsafe(32)``.
* Retries default to 6 with ``powers-of-ten`` delays (Rocket.Chat's own UI default): atsd-bot
  processes each Rocket.Chat message once, so a redelivery is harmless. ``--retry 0`` turns
  them off. Edits do not trigger the webhook (``runOnEdits: false``).
* An update is a ``PUT`` of the full object (Rocket.Chat overwrites every field). Fields are
  compared after normalising Rocket.Chat's storage (``channel`` is stored as a list), so a
  second run with the same arguments is ``unchanged``.
* The summary prints the matching atsd-bot configuration lines (the ``[[users]]`` entry and
  ``[webhook.tokens]``): the password only as a werkzeug hash, the token in clear (atsd-bot
  must know it), so treat stdout as secret. The script (it embeds the password) is never
  printed.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from werkzeug.security import generate_password_hash

from bot.exit_codes import (
    EXIT_CONFLICT,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)
from bot.rest.client import RestClient
from scripts.common import ProvisionError, admin_client, checked_url, parser, require_bot_user
from scripts.common import progress as say
from scripts.common import run as run_script

DEFAULT_NAME = "atsd-bot"
WEBHOOK_PATH = "/api/v1/messages/webhook/rocket.chat"
WEBHOOK_QUERY = "command.message=text&exclude=text"
RETRY_DELAY = "powers-of-ten"
COMPARED = ("type", "name", "enabled", "event", "channel", "urls", "username", "scriptEnabled",
            "script", "triggerWords", "retryFailedCalls", "retryCount", "retryDelay",
            "runOnEdits", "token")

SCRIPT_TEMPLATE = """\
/* Managed by atsd-bot's create_outgoing_integration: re-run the script instead of editing. */
class Script {
  prepare_outgoing_request({ request }) {
    return {
      /* the text stays in the JSON body; anything ever added here: encodeURIComponent() */
      url: request.url,
      method: 'POST',
      auth: %(auth)s,
      headers: request.headers,
      /* current servers send `data` (and need `headers`); Meteor-HTTP era ones `content` */
      data: request.data,
      content: request.data
    };
  }
}
"""


def make_parser(environ: Mapping[str, str] | None = None,
                prog: str = "atsd-bot-create-integration") -> argparse.ArgumentParser:
    p = parser(prog,
               "Create or update the outgoing webhook from Rocket.Chat to atsd-bot.", environ,
               examples=["ATSD_BOT_PROVISION_ADMIN_PASSWORD=... atsd-bot setup integration "
                         "--server https://chat.example.com --admin-user admin "
                         "--bot-username atsd_bot --webhook-url http://atsd-bot:8088 "
                         "--webhook-user rocketchat --webhook-password \"$HOOK_PASSWORD\""],
               codes=(EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_REJECTED, EXIT_UNAVAILABLE,
                      EXIT_CONFLICT))
    p.option("--bot-username", required=True, metavar="NAME", help="the bot's username")
    p.option("--webhook-url", required=True, metavar="URL",
             help="atsd-bot's base URL as Rocket.Chat reaches it, e.g. https://atsd-bot:8088")
    p.option("--webhook-user", required=True, metavar="USER",
             help="an atsd-bot user with the webhook role")
    p.option("--webhook-password", required=True, metavar="PASSWORD",
             help="that user's password (prefer the env var)")
    p.option("--name", default=DEFAULT_NAME, help=f"integration name (default {DEFAULT_NAME})")
    p.option("--channel", metavar="TARGETS",
             help="comma-separated #channel/@user targets (default @<bot-username>)")
    p.option("--trigger-words", metavar="W,...", help="only messages starting with one of these")
    p.option("--token", metavar="TOKEN",
             help="the secret body token (default: keep the existing one or generate)")
    p.option("--retry", type=int, default=6, metavar="COUNT",
             help="redeliveries on failure (default 6, 0 = none)")
    return p


def webhook_url(base: str) -> str:
    """The integration's URL from atsd-bot's base URL (a full webhook URL is accepted too)."""
    base = checked_url("--webhook-url", base, "--webhook-user and --webhook-password")
    if WEBHOOK_PATH in base:
        base = base.split(WEBHOOK_PATH, 1)[0]
    return f"{base}{WEBHOOK_PATH}?{WEBHOOK_QUERY}"


def script_for(user: str, password: str) -> str:
    """The integration script; the credentials become one JS string literal (JSON-escaped)."""
    if ":" in user:
        raise ProvisionError("--webhook-user must not contain ':' (Basic credentials)",
                             EXIT_USAGE)
    return SCRIPT_TEMPLATE % {"auth": json.dumps(f"{user}:{password}", ensure_ascii=True)}


def wanted_fields(args: argparse.Namespace, token: str) -> dict[str, Any]:
    """The full integration object (everything ``integrations.create`` and ``update`` take)."""
    words = [w.strip() for w in (args.trigger_words or "").split(",") if w.strip()]
    channel = ",".join(c.strip() for c in (args.channel or f"@{args.bot_username}").split(","))
    if any(not c.startswith(("#", "@")) for c in channel.split(",")):
        raise ProvisionError(f"--channel {channel!r}: each target must start with # or @",
                             EXIT_USAGE)
    if args.retry < 0:
        raise ProvisionError("--retry must be 0 or more", EXIT_USAGE)
    fields: dict[str, Any] = {
        "type": "webhook-outgoing", "name": args.name, "enabled": True, "event": "sendMessage",
        "channel": channel, "urls": [webhook_url(args.webhook_url)],
        "username": args.bot_username, "scriptEnabled": True,
        "script": script_for(args.webhook_user, args.webhook_password),
        "triggerWords": words, "runOnEdits": False, "token": token,
        "retryFailedCalls": args.retry > 0,
    }
    if args.retry > 0:
        fields.update(retryCount=args.retry, retryDelay=RETRY_DELAY)
    return fields


def differences(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """Names of the fields whose stored value differs from the wanted one."""
    return [key for key in COMPARED if _norm(key, existing.get(key)) != _norm(key, wanted.get(key))]


def _norm(key: str, value: Any) -> Any:
    if key == "channel":  # sent as "a,b", stored as ["a", "b"]
        items = value if isinstance(value, list) else str(value or "").split(",")
        return sorted(str(i).strip() for i in items if str(i).strip())
    if key in ("triggerWords", "urls"):
        return list(value or [])
    if key in ("runOnEdits", "retryFailedCalls", "enabled", "scriptEnabled"):
        return bool(value)
    if key in ("retryCount", "retryDelay") and not value:
        return None
    return value


def find(admin: RestClient, name: str) -> dict[str, Any] | None:
    found = [i for i in admin.integrations_list(name=name) if i.get("type") == "webhook-outgoing"]
    if len(found) > 1:
        ids = ", ".join(str(i.get("_id")) for i in found)
        raise ProvisionError(f"{len(found)} outgoing integrations are named {name!r} ({ids}); "
                             "remove the extras in Administration > Integrations and re-run",
                             EXIT_CONFLICT)
    return found[0] if found else None


def provision(args: argparse.Namespace, client_factory: type[RestClient] = RestClient,
              ) -> dict[str, Any]:
    """Do (or, with ``--dry-run``, plan) the work; return the JSON summary."""
    url = webhook_url(args.webhook_url)  # validate before talking to anyone
    admin = admin_client(args, client_factory)
    require_bot_user(admin, args.bot_username)
    existing = find(admin, args.name)
    token = args.token or (existing or {}).get("token") or secrets.token_urlsafe(32)
    wanted = wanted_fields(args, token)
    status, changes, integration = _apply(admin, args, existing, wanted, url)
    say(f"integration {args.name!r}: {status}" + (" (dry run: nothing changed)"
                                                  if args.dry_run else ""))
    return {
        "status": status, "dry_run": bool(args.dry_run), "changes": changes,
        "integration": {"_id": integration.get("_id"), "name": args.name, "url": url,
                        "channel": wanted["channel"], "username": args.bot_username},
        "atsd_bot_config": config_lines(args.webhook_user, args.webhook_password, token),
    }


def _apply(admin: RestClient, args: argparse.Namespace, existing: dict[str, Any] | None,
           wanted: dict[str, Any], url: str) -> tuple[str, list[str], dict[str, Any]]:
    """Create or update the integration (unless a dry run): (status, changes, integration)."""
    if existing is None:
        integration: dict[str, Any] = {}
        if not args.dry_run:
            say(f"creating outgoing integration {args.name!r} -> {url}")
            integration = admin.integrations_create(**wanted)
        return "created", [f"create integration {args.name!r}"], integration
    changes = differences(existing, wanted)
    if changes and not args.dry_run:
        say(f"updating integration {args.name!r}: {', '.join(changes)}")
        return "updated", changes, admin.integrations_update(integrationId=existing["_id"],
                                                             **wanted)
    return ("updated" if changes else "unchanged"), changes, existing


def config_lines(user: str, password: str, token: str) -> dict[str, str]:
    """The atsd-bot TOML that accepts this integration's requests (values JSON-quoted).

    The password is given as a werkzeug hash (what ``webhook.auth`` checks), so the summary
    never shows it; the token must be shown, atsd-bot compares it with the body's.
    """
    return {
        "users": "[[users]]\n"
                 f"name = {json.dumps(user)}\n"
                 f"password_hash = {json.dumps(generate_password_hash(password))}\n"
                 'roles = ["webhook"]\n',
        "webhook.tokens": f'[webhook.tokens]\n"rocket.chat" = {json.dumps(token)}\n',
    }


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """The script; ``prog`` names it when reached as ``atsd-bot setup …``."""
    return run_script(provision, make_parser, argv, prog)


if __name__ == "__main__":
    sys.exit(main())
