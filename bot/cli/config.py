"""``atsd-bot config check`` and ``atsd-bot config show``.

- ``check``: everything a start needs (bot/cli/checks.py), one line per check, ``ok``, a
  ``warning`` (e.g. an unknown ``ATSD_BOT_`` variable; not a problem) or the problem and its
  fix; creates nothing. Exit 0 all good, 1 problems found, 2 usage.
- ``show``: the effective configuration (file, environment, defaults), one ``key = value``
  line per key with where the value came from; secrets are masked. Warnings (an unknown
  ``ATSD_BOT_`` variable) go to standard error.
"""

from __future__ import annotations

import argparse
import sys

from bot.cli.checks import run_checks
from bot.cli.common import add_command, add_config_option
from bot.config import config_path, read_config
from bot.config.show import rows
from bot.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

__all__ = ["add_parser", "check", "show"]


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    group = add_command(
        commands, "config", purpose="check or show the configuration", group=True,
        description="'config check' checks everything a start needs; 'config show' prints "
                    "the effective configuration. 'atsd-bot config ACTION --help' for each.",
        examples=["atsd-bot config check --config atsd-bot.toml",
                  "atsd-bot config show --config atsd-bot.toml"],
        codes=(EXIT_OK, EXIT_FAILED, EXIT_USAGE))
    actions = group.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    checking = add_command(
        actions, "check", purpose="check everything a start needs, one line per check",
        description="The file, every key and type, the rules, the database and its schema, "
                    "the listen address and, with [rocketchat], the server, the bot's login "
                    "and its permissions. Creates nothing.",
        examples=["atsd-bot config check --config /etc/atsd-bot/atsd-bot.toml",
                  "ATSD_BOT_CONFIG=atsd-bot.toml atsd-bot config check"],
        codes=(EXIT_OK, EXIT_FAILED, EXIT_USAGE))
    add_config_option(checking)
    checking.set_defaults(handler=check)
    showing = add_command(
        actions, "show", purpose="print the effective configuration and where each value "
                                 "comes from",
        description="One line per key: 'key = value  # source', the source being the file, "
                    "an environment variable or the default. Secrets are shown as ***.",
        examples=["atsd-bot config show --config /etc/atsd-bot/atsd-bot.toml",
                  "ATSD_BOT_HTTP_PORT=9000 atsd-bot config show --config atsd-bot.toml"],
        codes=(EXIT_OK, EXIT_USAGE))
    add_config_option(showing)
    showing.set_defaults(handler=show)


def check(args: argparse.Namespace) -> int:
    problems = warnings = 0
    for result in run_checks(config_path(args.config)):
        print(result.line(), flush=True)
        problems += not result.ok
        warnings += bool(result.ok and result.warning)
    noted = f" ({warnings} warning(s))" if warnings else ""
    print(f"{problems} problem(s) found{noted}" if problems else f"all checks passed{noted}")
    return EXIT_FAILED if problems else EXIT_OK


def show(args: argparse.Namespace) -> int:
    loaded = read_config(config_path(args.config))
    for warning in loaded.warnings:  # on stderr: standard output stays the listing
        print(f"atsd-bot: warning: {warning}", file=sys.stderr)
    found = rows(loaded)
    width = max(len(f"{r.key} = {r.value}") for r in found)
    for row in found:
        print(f"{row.key} = {row.value}".ljust(width) + f"  # {row.source}")
    return EXIT_OK
