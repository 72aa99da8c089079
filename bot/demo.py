"""``atsd-bot demo``: the whole loop against the simulator (placeholder)."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("demo", help="show the whole loop against the simulator")
    parser.set_defaults(handler=lambda args: 2)
