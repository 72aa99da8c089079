"""``atsd-bot setup bot-user|integration|check``: provisioning in Rocket.Chat.

Each action is the provisioning script of the same job (the ``scripts/`` modules, also
installed as ``atsd-bot-create-user``, ``atsd-bot-create-integration`` and
``atsd-bot-check-integration``), given the rest of the command line as it is; its options,
``ATSD_BOT_PROVISION_*`` variables, output (one JSON document) and exit codes are the script's;
its usage, ``--help`` and failure lines name ``atsd-bot setup ACTION`` and start ``atsd-bot:``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from bot.cli.common import add_command
from bot.exit_codes import (
    EXIT_CONFLICT,
    EXIT_FAILED,
    EXIT_NOT_SEEN,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)

__all__ = ["ACTIONS", "add_parser", "delegate"]

ACTIONS = {
    "bot-user": "create or update the bot user in Rocket.Chat (and its token)",
    "integration": "create or update the outgoing webhook from Rocket.Chat to atsd-bot",
    "check": "post a test DM to the bot and check that atsd-bot receives it",
}


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    group = add_command(
        commands, "setup", purpose="provision the bot user and the integration in Rocket.Chat",
        group=True,
        description="Each action takes a Rocket.Chat admin's credentials (--admin-user and "
                    "ATSD_BOT_PROVISION_ADMIN_PASSWORD); 'atsd-bot setup ACTION --help' lists "
                    "its options.",
        examples=["atsd-bot setup bot-user --server https://chat.example.com --admin-user "
                  "admin --bot-username atsd_bot --bot-password \"$BOT_PASSWORD\"",
                  "atsd-bot setup integration --help"],
        codes=(EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REJECTED, EXIT_UNAVAILABLE,
               EXIT_CONFLICT, EXIT_NOT_SEEN))
    actions = group.add_subparsers(dest="setup_action", metavar="ACTION", required=True)
    for name, purpose in ACTIONS.items():
        # listed here for 'atsd-bot setup --help'; bot/__main__.py hands everything after
        # the action to the script before argparse sees it (the script parses --help too)
        actions.add_parser(name, help=purpose, add_help=False)


def delegate(action: str, argv: Sequence[str]) -> int:
    """Run the script of ``action`` with ``argv``; its exit code."""
    from scripts import check_integration, create_bot_user, create_outgoing_integration

    mains: dict[str, Callable[..., int]] = {
        "bot-user": create_bot_user.main, "integration": create_outgoing_integration.main,
        "check": check_integration.main}
    # usage, --help and failure lines name 'atsd-bot setup ACTION', not the script
    return mains[action](list(argv), prog=f"atsd-bot setup {action}")
