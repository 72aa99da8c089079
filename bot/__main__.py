"""``atsd-bot``: the command line. Each group of sub-commands has a module in bot/cli/.

- ``init``: a configuration to start from (bot/cli/init.py)
- ``config check|show``: check everything a start needs; the effective configuration
  (bot/cli/config.py, bot/cli/checks.py)
- ``serve``: run the service (bot/cli/serve.py)
- ``hash-password``: a password_hash for [[users]] (bot/cli/passwords.py)
- ``prune``: apply [retention] now (bot/cli/prune.py)
- ``rules``: import, export, validate and dry-run rules (bot/cli/rules.py)
- ``setup bot-user|integration|check``: provisioning in Rocket.Chat (bot/cli/setup.py)
- ``demo``: the whole loop against the Rocket.Chat simulator (bot/demo/run.py)

Every failure ends with one line on standard error and an exit code of bot/exit_codes.py;
``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence

from bot import __version__
from bot.exit_codes import MEANINGS


def build_parser() -> argparse.ArgumentParser:
    from bot.cli import config, init, passwords, prune, setup
    from bot.cli import rules as rules_cli
    from bot.cli import serve as service
    from bot.demo import run as demo

    parser = argparse.ArgumentParser(
        prog="atsd-bot", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill(
            "A Rocket.Chat bot with ATSD's webhook semantics and rule engine: messages to "
            "@atsd_bot and webhook POSTs become message commands that rules turn into alerts "
            "and replies.", 79),
        epilog="Run 'atsd-bot COMMAND --help' for the options, examples and exit codes of "
               "each command.\n\nfirst steps:\n  atsd-bot init\n  atsd-bot config check "
               "--config atsd-bot.toml\n  atsd-bot serve --config atsd-bot.toml\n\n"
               "exit codes (the same in every command):\n"
               + "\n".join(f"  {code:<3} {text}" for code, text in MEANINGS.items()))
    parser.add_argument("--version", action="version", version=f"atsd-bot {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in (init, config, service, passwords, prune, rules_cli, setup, demo):
        group.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from bot.cli.common import run_handler
    from bot.cli.setup import ACTIONS, delegate

    args_list = list(sys.argv[1:] if argv is None else argv)
    if len(args_list) >= 2 and args_list[0] == "setup" and args_list[1] in ACTIONS:
        return delegate(args_list[1], args_list[2:])  # the script parses the rest itself
    args = build_parser().parse_args(args_list)
    return run_handler(args)


if __name__ == "__main__":
    sys.exit(main())
