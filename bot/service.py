"""Composition root: ``atsd-bot serve`` (placeholder until the service issue fills it in)."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("serve", help="run the service")
    parser.add_argument("--config", required=False, help="path of the TOML configuration")
    parser.set_defaults(handler=lambda args: 2)
