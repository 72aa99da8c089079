"""``atsd-bot``: the command line. Each group of sub-commands lives beside the code it drives.

- ``serve``: run the service (bot/cli/serve.py)
- ``rules``: import, export, validate and dry-run rules (bot/cli/rules.py)
- ``demo``: the whole loop against the Rocket.Chat simulator (bot/demo/run.py)
"""

from __future__ import annotations

import argparse
import sys

from bot import __version__


def build_parser() -> argparse.ArgumentParser:
    from bot.cli import rules as rules_cli
    from bot.cli import serve as service
    from bot.demo import run as demo

    parser = argparse.ArgumentParser(
        prog="atsd-bot",
        description=(
            "A Rocket.Chat bot with ATSD's webhook semantics and rule engine: messages to "
            "@atsd_bot and webhook POSTs become message commands that rules turn into alerts "
            "and replies."
        ),
        epilog="Run 'atsd-bot COMMAND --help' for the options of each command.",
    )
    parser.add_argument("--version", action="version", version=f"atsd-bot {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    service.add_parser(commands)
    rules_cli.add_parser(commands)
    demo.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
