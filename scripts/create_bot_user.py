"""Create the atsd-bot user in Rocket.Chat, or bring an existing one to the wanted state.

    python -m scripts.create_bot_user --server URL --admin-user U --admin-password P \\
        --bot-username atsd_bot [--bot-password P] [--bot-email E] [--bot-name NAME] \\
        [--token-name NAME] [--force-bot-role] [--dry-run]

Wanted state: role ``bot``, active, e-mail verified, no forced password change; created with
no welcome mail and without joining the default channels. A second run with the same
arguments changes nothing and reports ``unchanged``.

Decisions:

* Passwords are never printed. Without ``--bot-password`` a new user gets a random one; then
  use ``--token-name`` (the bot's preferred login) or set a password later.
* A given ``--bot-password`` is checked by logging in as the bot, never by resetting it; only
  a failed login leads to ``users.update {password}``.
* ``--token-name`` creates a personal access token *as the bot* (tokens belong to whoever asks)
  with "ignore two-factor" on, and prints it once in the JSON. If a token of that name already
  exists it cannot be shown again: the run reports it unchanged and says how to get a new one.
* A username held by a user without the ``bot`` role is an error unless ``--force-bot-role``,
  which adds ``bot`` to that user's roles and keeps the others.
* ``--bot-name``/``--bot-email`` are enforced on an existing user only when given.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from bot.errors import ChatRejected
from bot.exit_codes import (
    EXIT_CONFLICT,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)
from bot.rest.client import RestClient, RestRejected
from scripts.common import ProvisionError, admin_client, parser
from scripts.common import progress as say
from scripts.common import run as run_script

DEFAULT_NAME = "ATSD Bot"
CREATE_ONLY = {"sendWelcomeEmail": False, "joinDefaultChannels": False}


def make_parser(environ: Mapping[str, str] | None = None,
                prog: str = "atsd-bot-create-user") -> argparse.ArgumentParser:
    p = parser(prog, "Create or update the atsd-bot user in Rocket.Chat.",
               environ,
               examples=["ATSD_BOT_PROVISION_ADMIN_PASSWORD=... atsd-bot setup bot-user "
                         "--server https://chat.example.com --admin-user admin "
                         "--bot-username atsd_bot --bot-password \"$BOT_PASSWORD\""],
               codes=(EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_REJECTED, EXIT_UNAVAILABLE,
                      EXIT_CONFLICT))
    p.option("--bot-username", required=True, metavar="NAME", help="the bot's username")
    p.option("--bot-password", metavar="PASSWORD",
             help="the bot's password (default for a new user: random, never shown)")
    p.option("--bot-email", metavar="EMAIL", help="default <username>@atsd-bot.invalid")
    p.option("--bot-name", metavar="NAME", help=f"display name (default {DEFAULT_NAME!r})")
    p.option("--token-name", metavar="NAME",
             help="also create a personal access token with this name and print it once")
    p.option("--force-bot-role", action="store_true", default=False,
             help="add the bot role to an existing user who lacks it")
    return p


def provision(args: argparse.Namespace, client_factory: type[RestClient] = RestClient,
              ) -> dict[str, Any]:
    """Do (or, with ``--dry-run``, plan) the work; return the JSON summary."""
    admin = admin_client(args, client_factory)
    user = admin.users_info(username=args.bot_username)
    password = args.bot_password
    if user is None:
        status, user, password, changes = _create(admin, args, password)
    else:
        changes = _update(admin, args, user, client_factory)
        status = "updated" if changes else "unchanged"
    summary: dict[str, Any] = {
        "status": status, "dry_run": bool(args.dry_run), "changes": changes,
        "user": {"_id": user.get("_id"), "username": args.bot_username},
        "server": admin.url,
    }
    if args.token_name:
        summary["token"] = _token(args, user, password, client_factory)
        if summary["token"].get("created") and status == "unchanged":
            summary["status"] = "updated"
    say(f"bot user {args.bot_username}: {summary['status']}"
        + (" (dry run: nothing changed)" if args.dry_run else ""))
    return summary


def _create(admin: RestClient, args: argparse.Namespace, password: str | None,
            ) -> tuple[str, dict[str, Any], str, list[str]]:
    password = password or secrets.token_urlsafe(24)
    fields = {
        "email": args.bot_email or f"{args.bot_username}@atsd-bot.invalid",
        "name": args.bot_name or DEFAULT_NAME,
        "username": args.bot_username,
        "roles": ["bot"], "active": True, "verified": True, "requirePasswordChange": False,
        **CREATE_ONLY,
    }
    changes = [f"create user {args.bot_username} with role bot"]
    if not args.bot_password:
        say("the bot's password is random and is not shown; use --token-name to get a login "
            "token for atsd-bot")
    if args.dry_run:
        say(f"would create user {args.bot_username}")
        return "created", {"_id": None}, password, changes
    say(f"creating user {args.bot_username}")
    user = admin.users_create(password=password, **fields)
    return "created", user, password, changes


def wanted_changes(args: argparse.Namespace, user: Mapping[str, Any]) -> dict[str, Any]:
    """The ``users.update`` data that brings ``user`` to the wanted state (empty: none)."""
    data: dict[str, Any] = {}
    roles = list(user.get("roles") or [])
    if "bot" not in roles:
        if not args.force_bot_role:
            raise ProvisionError(
                f"username {args.bot_username!r} is taken by a user without the bot role "
                f"(roles: {', '.join(roles) or 'none'}); choose another --bot-username or pass "
                "--force-bot-role to add the bot role", EXIT_CONFLICT)
        data["roles"] = [*roles, "bot"]
    if user.get("active") is not True:
        data["active"] = True
    emails = user.get("emails") or []
    address = emails[0].get("address") if emails else None
    if args.bot_email and address != args.bot_email:
        data["email"] = args.bot_email
    if not emails or emails[0].get("verified") is not True or "email" in data:
        data["verified"] = True
    if user.get("requirePasswordChange"):
        data["requirePasswordChange"] = False
    if args.bot_name and user.get("name") != args.bot_name:
        data["name"] = args.bot_name
    return data


def _update(admin: RestClient, args: argparse.Namespace, user: Mapping[str, Any],
            client_factory: type[RestClient]) -> list[str]:
    data = wanted_changes(args, user)
    changes = [f"set {key}" for key in sorted(data)]
    if data and not args.dry_run:
        say(f"updating user {args.bot_username}: {', '.join(sorted(data))}")
        admin.users_update(str(user["_id"]), **data)
    if args.bot_password and not (args.dry_run and "active" in data):
        if _password_works(admin.url, args, client_factory):
            say("the given bot password works (checked by logging in as the bot)")
        else:
            changes.append("set password")
            if not args.dry_run:
                say(f"setting the given password on {args.bot_username}")
                admin.users_update(str(user["_id"]), password=args.bot_password)
    return changes


def _password_works(url: str, args: argparse.Namespace,
                    client_factory: type[RestClient]) -> bool:
    try:
        bot = client_factory.with_password(url, args.bot_username, args.bot_password,
                                           timeout=args.timeout)
    except RestRejected as exc:
        if exc.error_type == "totp-required":
            return True  # the server asks for a second factor only after the password matched
        if exc.status == 401:
            return False
        raise
    _logout(bot)
    return True


def _token(args: argparse.Namespace, user: Mapping[str, Any], password: str | None,
           client_factory: type[RestClient]) -> dict[str, Any]:
    """Create the bot's personal access token by logging in as the bot."""
    result: dict[str, Any] = {"name": args.token_name, "user_id": user.get("_id"),
                              "created": False}
    if args.dry_run and user.get("_id") is None:
        result["created"] = True
        return result
    if not password:
        raise ProvisionError("--token-name for an existing bot user needs --bot-password (the "
                             "token is created by logging in as the bot; a password that does "
                             "not work is set first)", EXIT_REJECTED)
    try:
        bot = client_factory.with_password(client_url(args), args.bot_username, password,
                                           timeout=args.timeout)
    except RestRejected as exc:
        if not (args.dry_run and exc.status == 401):
            raise
        return {**result, "created": True}  # the dry run did not set the password it would
    try:
        return _new_token(args, bot, result)
    finally:
        _logout(bot)


def _new_token(args: argparse.Namespace, bot: RestClient,
               result: dict[str, Any]) -> dict[str, Any]:
    """As the logged-in bot: create the token unless one of that name exists (or dry run)."""
    names = {t.get("name") for t in bot.personal_access_tokens()}
    if args.token_name in names:
        say(f"the bot already has a token named {args.token_name!r}; its value cannot be "
            "shown again: remove it (bot's My Account > Personal Access Tokens) or choose "
            "another --token-name to get a new one")
        return result
    result["created"] = True
    if args.dry_run:
        say(f"would create personal access token {args.token_name!r}")
        return result
    say(f"creating personal access token {args.token_name!r} for {args.bot_username}")
    try:
        result["token"] = bot.generate_personal_access_token(args.token_name)
    except ChatRejected as exc:
        again = "re-run" if args.bot_password else "re-run with --bot-password"
        raise ProvisionError(
            f"the bot may not create its token ({exc}); grant the permission "
            "'create-personal-access-tokens' to the bot role (Administration > "
            f"Permissions) and {again}", EXIT_REJECTED) from None
    return result


def client_url(args: argparse.Namespace) -> str:
    return str(args.server).rstrip("/")


def _logout(client: RestClient) -> None:
    """End the bot session opened only for a check; a failure here changes nothing."""
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - best effort: the login token simply expires
        say("note: could not log the bot's check session out; it expires on its own")


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """The script; ``prog`` names it when reached as ``atsd-bot setup …``."""
    return run_script(provision, make_parser, argv, prog)


if __name__ == "__main__":
    sys.exit(main())
