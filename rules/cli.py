"""``atsd-bot rules``: import, export and dry-run rules (placeholder)."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("rules", help="import, export, validate and test rules")
    parser.set_defaults(handler=lambda args: 2)
