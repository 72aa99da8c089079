"""What every ``atsd-bot`` command shares: help layout, ``--config``, ``--debug``, failures.

Every command's ``--help`` has a one-line purpose, every option with its default, examples and
the exit codes it may end with (meanings from :mod:`bot.exit_codes`, one table for all
commands). A failure ends with one line on standard error, ``atsd-bot: <what failed>; <what to
change>``, and its exit code; the traceback only with ``--debug``.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import traceback
from collections.abc import Sequence
from typing import Any

from bot.errors import (
    AtsdBotError,
    ChatRejected,
    ChatUnavailable,
    ConfigError,
    StartError,
    UsageError,
)
from bot.exit_codes import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_REJECTED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    help_epilog,
)

__all__ = ["HelpFormatter", "add_command", "add_config_option", "describe_failure", "fail",
           "run_handler"]

PROG = "atsd-bot"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the epilog's layout and shows each option's default after its help."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default is argparse.SUPPRESS or not text:
            return text
        if action.nargs == 0 and isinstance(action.default, bool):
            return f"{text} (default: {'on' if action.default else 'off'})"
        if action.default is not None:
            return f"{text} (default: %(default)s)"
        return text


def add_command(commands: Any, name: str, *, purpose: str, description: str = "",
                examples: Sequence[str] = (), codes: Sequence[int] = (0,),
                group: bool = False, **kwargs: Any) -> Any:
    """A sub-command parser with the shared layout; a command (not a ``group`` of them)
    also takes ``--debug``."""
    paragraphs = [f"{purpose[0].upper()}{purpose[1:]}.", *description.split("\n\n")]
    text = "\n\n".join(textwrap.fill(p, 79) for p in paragraphs if p.strip())
    parser = commands.add_parser(name, help=purpose, formatter_class=HelpFormatter,
                                 description=text,
                                 epilog=help_epilog(examples, codes) if examples else None,
                                 **kwargs)
    if not group:
        parser.add_argument("--debug", action="store_true",
                            help="show the traceback of an unexpected error")
    return parser


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE",
                        help="the TOML configuration (default: $ATSD_BOT_CONFIG; without "
                             "either, built-in defaults plus ATSD_BOT_* variables)")


def fail(message: str, code: int) -> int:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)
    return code


def describe_failure(exc: BaseException) -> tuple[str, int]:
    """One line and the exit code for an error that reached the top of a command."""
    if isinstance(exc, StartError):
        return str(exc), exc.exit_code
    if isinstance(exc, ConfigError):
        return f"configuration error: {exc}", EXIT_USAGE
    if isinstance(exc, UsageError):
        return str(exc), EXIT_USAGE
    if isinstance(exc, ChatRejected):
        return f"Rocket.Chat refused: {exc}", EXIT_REJECTED
    if isinstance(exc, ChatUnavailable):
        return f"Rocket.Chat cannot be reached: {exc}", EXIT_UNAVAILABLE
    if isinstance(exc, AtsdBotError):
        return str(exc), EXIT_FAILED
    return (f"unexpected {type(exc).__name__}: {exc}; run again with --debug for the traceback "
            "and report it", EXIT_FAILED)


def run_handler(args: argparse.Namespace) -> int:
    """Run the chosen command: every failure becomes one line and its code, unless --debug."""
    try:
        result: int = args.handler(args)
        return result
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        line, code = describe_failure(exc)
        return fail(line, code)
