"""``atsd-bot prune [--older-than DURATION] [--dry-run]``: apply ``[retention]`` now.

The running service does the same once a day (bot/service/retention.py). One line per kind of
record says how many were removed (or, with ``--dry-run``, would be). Open alerts, their
windows and the notifications still waiting in the outbox are never pruned. A database that
does not exist yet is not created: there is nothing to prune.
"""

from __future__ import annotations

import argparse

from bot.cli.common import add_command, add_config_option
from bot.config import config_path, read_config
from bot.errors import StartError, UsageError
from bot.exit_codes import EXIT_DATABASE, EXIT_FAILED, EXIT_OK, EXIT_PATH, EXIT_USAGE
from bot.service.retention import cutoffs, run_prune
from bot.service.store_open import describe, open_store
from rules.clock import Clock, SystemClock
from rules.command import format_iso_date
from rules.definitions.durations import parse_duration
from rules.store.inspect import store_state

__all__ = ["add_parser", "prune_command"]


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    parser = add_command(
        commands, "prune", purpose="remove stored records older than [retention] says, now",
        description="Messages, the webhook request log, security incidents, closed alerts, "
                    "sent notifications and rule errors. Open alerts, their windows and "
                    "notifications still waiting are never pruned.",
        examples=["atsd-bot prune --config /etc/atsd-bot/atsd-bot.toml --dry-run",
                  "atsd-bot prune --older-than 7d"],
        codes=(EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DATABASE, EXIT_PATH))
    add_config_option(parser)
    parser.add_argument("--older-than", metavar="DURATION",
                        help="one age for every kind, e.g. 7d or 12h (default: each kind's "
                             "[retention] value)")
    parser.add_argument("--dry-run", action="store_true",
                        help="count what would be removed, remove nothing")
    parser.set_defaults(handler=prune_command)


def prune_command(args: argparse.Namespace, clock: Clock | None = None) -> int:
    settings = read_config(config_path(args.config)).settings
    older_than = _age(args.older_than)
    try:
        state = store_state(settings.database.url)
    except Exception as exc:
        raise describe(settings.database.url, exc) from None
    if not state.exists:
        print("nothing to prune: the database has no tables yet")
        return EXIT_OK
    if state.version is not None and state.version > state.current:
        raise StartError(f"the database's schema version {state.version} is newer than this "
                         f"atsd-bot's ({state.current}); run the newer atsd-bot", EXIT_DATABASE)
    db = open_store(settings.database, create=False, give_up_after=0)
    now = (clock or SystemClock()).now()  # the command line's clock: the system's
    try:
        removed = run_prune(db, settings.retention, now, older_than=older_than,
                            dry_run=args.dry_run)
    finally:
        db.dispose()
    verb = "would remove" if args.dry_run else "removed"
    for kind, cut in cutoffs(settings.retention, now, older_than).items():
        name = kind.replace("_", " ")
        if cut is None:
            print(f"{name}: kept (retention forever)")
        else:
            print(f"{name}: {verb} {removed.get(kind, 0)} older than {format_iso_date(cut)}")
    return EXIT_OK


def _age(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--older-than: {exc}") from None
    if seconds < 60:
        raise UsageError(f"--older-than: {text!r} is less than a minute; give e.g. 7d or 12h")
    return seconds
