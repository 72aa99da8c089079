"""``atsd-bot serve``: everything in one process (composition root: bot/service/runtime.py).

Start order (each step logs what started and where): settings and logging; the store and its
schema; the rule engine with the rules loaded and its windows restored; the ingestor (the one
entry point of every inbound message); the outbox sender with its endpoints (log, http,
rocketchat); the scheduler (engine ticks, timer commands, sender passes) and the daily prune
(``[retention]``); the Flask app (webhook receiver, data API, rules API, web UI, /healthz,
/metrics) under waitress in a thread; and, when ``[rocketchat]`` is configured with
``realtime = true``, the realtime client on an asyncio loop in its own thread, after a
start-up probe of the server (bot/rest/probe.py). Then a warning for each part nobody can use
(no users, no rules, no Rocket.Chat side), naming the fix.

Signals: ``SIGTERM``/``SIGINT`` stop: the HTTP server stops taking requests, the realtime
client disconnects, the outbox is drained for a few seconds (what is left stays pending in the
store and goes out at the next start). ``SIGHUP`` reads the configuration again and applies
what may change while running (bot/service/reload.py), then reloads the rules.

A failure at start is one line and an exit code (bot/exit_codes.py): 2 configuration, 3
Rocket.Chat refused the bot, 4 Rocket.Chat did not answer or take the login within 30 s of the
start (tried again meanwhile; an outage after the start is ridden out), 7 the listen address
(a host that does not resolve is found before the database is opened), 8 the database (given
up on within 30 s), 9 the lease was lost to another instance, 10 a path that cannot be written.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import threading
from pathlib import Path
from typing import Any

from bot.cli.common import add_command, add_config_option, fail
from bot.config import Settings, config_path, load_settings, read_config
from bot.errors import ChatRejected, ConfigError, StartCancelled, StartError
from bot.exit_codes import (
    EXIT_ADDRESS,
    EXIT_DATABASE,
    EXIT_FAILED,
    EXIT_LEASE_LOST,
    EXIT_OK,
    EXIT_PATH,
    EXIT_REJECTED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)
from bot.service.log_setup import FORMATS, LEVELS, RedactingFilter, configure_logging

log = logging.getLogger(__name__)


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    parser = add_command(
        commands, "serve", purpose="run the service",
        description="The webhook receiver, rule engine, scheduler, outbox sender, web UI and "
                    "(with [rocketchat]) the Rocket.Chat bot, in one process. SIGTERM stops "
                    "it; SIGHUP reloads the configuration and the rules.",
        examples=["atsd-bot serve --config /etc/atsd-bot/atsd-bot.toml",
                  "ATSD_BOT_CONFIG=atsd-bot.toml atsd-bot serve --log-format json"],
        codes=(EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REJECTED, EXIT_UNAVAILABLE, EXIT_ADDRESS,
               EXIT_DATABASE, EXIT_LEASE_LOST, EXIT_PATH))
    add_config_option(parser)
    parser.add_argument("--log-format", choices=FORMATS, default="text",
                        help="text for people, json (one object per line) for log shippers")
    parser.add_argument("--log-level", choices=LEVELS, default="INFO", type=str.upper,
                        help="the least severe level logged")
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    try:
        loaded = read_config(path)
    except ConfigError as exc:
        return fail(f"configuration error: {exc}", EXIT_USAGE)
    settings = loaded.settings
    redactor = configure_logging(args.log_format, args.log_level, settings.secrets())
    for warning in loaded.warnings:
        log.warning("%s", warning)
    unresolved = _unresolved_host(settings)
    if unresolved is not None:  # before the store: a failed start leaves no database behind
        log.error("%s", unresolved)
        return EXIT_ADDRESS
    from bot.service.runtime import Runtime  # here: 'atsd-bot --help' need not load the engine

    runtime = Runtime(settings)
    stop = threading.Event()
    exit_code = [EXIT_OK]

    def fatal(code: int) -> None:
        exit_code[0] = code
        stop.set()

    runtime.on_fatal = fatal
    runtime.on_settings.append(_remember_secrets(redactor, settings))
    _install_signals(stop, runtime, path)
    code = _start(runtime, settings, args.debug)
    if code is not None:
        return code
    for line in advice(runtime):
        log.warning("%s", line)
    log.info("atsd-bot is running; web UI at %s/ui/ (SIGTERM stops, SIGHUP reloads the "
             "configuration and the rules)", runtime.base_url)
    stop.wait()
    log.info("stopping")
    runtime.stop()
    log.info("stopped")
    return exit_code[0]


def _start(runtime: Any, settings: Settings, debug: bool) -> int | None:
    """Start ``runtime``; None when it runs, else the exit code after one logged line."""
    try:
        runtime.start()
        return None
    except Exception as exc:  # each kind becomes one line and its code below
        failure = exc
    if isinstance(failure, StartCancelled):
        runtime.stop(drain_seconds=0)
        log.info("%s", failure)
        return failure.exit_code
    if isinstance(failure, StartError):
        code, line = failure.exit_code, str(failure)
    elif isinstance(failure, ChatRejected):
        code, line = EXIT_REJECTED, f"Rocket.Chat refused the bot: {failure}"
    elif isinstance(failure, ConfigError):
        code, line = EXIT_USAGE, f"configuration error: {failure}"
    else:
        code = EXIT_FAILED
        line = (f"unexpected {type(failure).__name__} at start: {failure}; run again with "
                "--debug for the traceback and report it")
    if debug:
        log.error("start failed", exc_info=failure)
    runtime.stop(drain_seconds=0)
    log.error("%s", line)
    return code


def _unresolved_host(settings: Settings) -> str | None:
    """The one line for an ``[http] host`` that does not resolve, else None."""
    http = settings.http
    try:
        socket.getaddrinfo(http.host, http.port, type=socket.SOCK_STREAM,
                           flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        from bot.service.http_server import listen_error

        return str(listen_error(http, socket.gaierror(str(exc))))
    return None


def advice(runtime: Any) -> list[str]:
    """Warnings for parts of a running service nobody can use, each naming the fix."""
    s = runtime.settings
    lines = []
    if not s.users:
        lines.append("no [[users]]: nobody can log in to the web UI and every webhook is "
                     "refused (401); add a [[users]] table with roles (atsd-bot init writes "
                     "an admin; atsd-bot hash-password makes a password_hash)")
    if runtime.ruleset is not None and not runtime.ruleset.rules():
        folders = ", ".join(str(_under(s.base_dir, p)) for p in s.rules.paths)
        lines.append(f"no rules loaded from {folders}: messages are stored but raise no "
                     "alerts; put rule files there (docs/rules.md) and send SIGHUP")
    if s.rocketchat is None:
        lines.append("no [rocketchat] section: the bot is not in Rocket.Chat (no chat "
                     "commands, no alerts in rooms); add one as docs/getting-started.md shows")
    return lines


def _under(base: Path, path: str) -> Path:
    return Path(path) if Path(path).is_absolute() else base / path


def _remember_secrets(redactor: RedactingFilter, settings: Settings) -> Any:
    """A settings hook: secrets of a reloaded configuration are masked too (old ones stay)."""
    known = set(settings.secrets())

    def hook(new: Settings) -> None:
        known.update(new.secrets())
        redactor.update(known)

    return hook


def _install_signals(stop: threading.Event, runtime: Any, path: Path | None) -> None:
    def on_stop(signum: int, _frame: Any) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()
        runtime.cancel_start()  # a start still waiting for the database or Rocket.Chat ends

    def reload() -> None:
        runtime.reload(lambda: load_settings(path))

    def on_hup(_signum: int, _frame: Any) -> None:
        # A handler must return quickly and must not take locks the interrupted code holds.
        threading.Thread(target=reload, name="reload", daemon=True).start()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, on_hup)
