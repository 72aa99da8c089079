"""``atsd-bot hash-password``: a ``password_hash`` for a ``[[users]]`` table.

Reads the password from a prompt without echo (twice) on a terminal, or the first line of
standard input otherwise, and prints only the hash on standard output.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from werkzeug.security import generate_password_hash

from bot.cli.common import add_command, fail
from bot.exit_codes import EXIT_OK, EXIT_USAGE

__all__ = ["add_parser", "hash_password"]


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    parser = add_command(
        commands, "hash-password", purpose="print the password_hash of a password",
        description="Prompts (without echo) on a terminal, else reads the first line of "
                    "standard input; prints only the hash, for password_hash in [[users]].",
        examples=["atsd-bot hash-password", "printf '%s' \"$PASSWORD\" | atsd-bot hash-password"],
        codes=(EXIT_OK, EXIT_USAGE))
    parser.set_defaults(handler=hash_password)


def hash_password(_args: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            return fail("the two passwords differ; nothing printed", EXIT_USAGE)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        return fail("an empty password; give one on standard input or at the prompt",
                    EXIT_USAGE)
    print(generate_password_hash(password))
    return EXIT_OK
