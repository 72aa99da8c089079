"""``atsd-bot init [DIR] [--force]``: a configuration to start from, with an admin user.

Writes ``DIR/atsd-bot.toml`` (every section, commented, the defaults shown; the database
beside the file; a generated ``[http] secret_key``; an ``admin`` user with roles admin and
api whose generated password is stored only as a hash) and ``DIR/rules.d/`` with example
rules. The password is printed once, on a line of its own: ``admin password: <password>``.
An existing file is left alone (exit 2, naming it) unless ``--force``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import string
from pathlib import Path

from werkzeug.security import generate_password_hash

from bot.cli.common import add_command, fail
from bot.cli.template import EXAMPLE_RULES, config_text
from bot.errors import StartError
from bot.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_PATH, EXIT_USAGE

__all__ = ["CONFIG_NAME", "RULES_NAME", "add_parser", "init", "new_password"]

CONFIG_NAME = "atsd-bot.toml"
RULES_NAME = "rules.d/examples.yml"
_ALPHABET = string.ascii_letters + string.digits


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    parser = add_command(
        commands, "init", purpose="write a configuration to start from, with an admin user",
        description=f"Writes DIR/{CONFIG_NAME} (every section, commented, the defaults "
                    f"shown) and DIR/{RULES_NAME}, and prints the admin's generated "
                    "password once as 'admin password: <password>'.",
        examples=["atsd-bot init", "atsd-bot init /etc/atsd-bot",
                  "atsd-bot init site --force   # replace the files init wrote before"],
        codes=(EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PATH))
    parser.add_argument("dir", nargs="?", default=".", metavar="DIR",
                        help="the folder to write into, made if missing")
    parser.add_argument("--force", action="store_true",
                        help="overwrite files that exist (a new admin password and session "
                             "key)")
    parser.set_defaults(handler=init)


def new_password() -> str:
    """24 letters and digits: no character a shell or a command line would read as syntax."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(24))


def init(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    config, rules = folder / CONFIG_NAME, folder / RULES_NAME
    if not args.force:
        for existing in (config, rules):
            if existing.exists():
                return fail(f"{existing} exists; init leaves it alone (--force overwrites it, "
                            "with a new admin password)", EXIT_USAGE)
    password = new_password()
    text = config_text(name=CONFIG_NAME, admin_hash=generate_password_hash(password),
                       secret_key=secrets.token_urlsafe(32))
    _write(config, text)
    _write(rules, EXAMPLE_RULES)
    print(f"wrote {config}")
    print(f"wrote {rules}")
    print(f"admin password: {password}")
    print(f"next: atsd-bot config check --config {config}")
    return EXIT_OK


def _write(path: Path, text: str) -> None:
    """Owner-only (the file holds the session key and a password hash), written whole."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except OSError as exc:
        raise StartError(f"cannot write {path}: {exc.strerror or exc}; choose a folder this "
                         "user can write", EXIT_PATH) from None
