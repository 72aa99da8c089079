"""Composition root: ``atsd-bot serve --config PATH`` runs everything in one process.

Start order (each step logs what started and where): settings and logging; the store and its
schema; the rule engine with the rules loaded and its windows restored; the ingestor (the one
entry point of every inbound message); the outbox sender with its endpoints (log, http,
rocketchat); the scheduler (engine ticks, timer commands, sender passes); the Flask app (webhook
receiver, data API, rules API, web UI, /healthz, /metrics) under waitress in a thread; and,
when ``[rocketchat]`` is configured with ``realtime = true``, the realtime client on an asyncio
loop in its own thread, after a start-up probe of the server (bot/rest/probe.py).

Signals: ``SIGTERM``/``SIGINT`` stop: the HTTP server stops taking requests, the realtime
client disconnects, the outbox is drained for at most ``DRAIN_SECONDS`` (what is left stays
pending in the store and goes out at the next start), and the process exits within a few
seconds. ``SIGHUP`` reloads the rules (a bad rule file keeps the previous rules).

Exit codes: 0 stopped on a signal; 2 configuration error (one line naming the key);
3 Rocket.Chat refused the bot's credentials; 4 the HTTP port could not be opened; 5 the
database lease was lost to another instance (PostgreSQL; restart to run as a follower).

Several instances: on PostgreSQL every instance takes part in a lease (bot/service/lease.py). All
of them answer webhooks and store what they receive; the holder alone runs the engine, the
scheduler and the realtime client, and processes what the others stored. When the holder
stops, another instance takes over within the lease's renewal interval.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from bot.config.load import load_settings
from bot.errors import ChatRejected, ConfigError
from bot.exit_codes import EXIT_ADDRESS, EXIT_REJECTED, EXIT_USAGE
from bot.service.log_setup import FORMATS, LEVELS, configure_logging

log = logging.getLogger(__name__)



def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "serve", help="run the service",
        description="Run the webhook receiver, rule engine, scheduler, outbox sender, web UI "
                    "and (when configured) the Rocket.Chat realtime client in one process.")
    parser.add_argument("--config", metavar="PATH",
                        help="the TOML configuration (default: defaults plus ATSD_BOT_* "
                             "environment variables)")
    parser.add_argument("--log-format", choices=FORMATS, default="text",
                        help="text for people, json (one object per line) for log shippers")
    parser.add_argument("--log-level", choices=LEVELS, default="INFO", type=str.upper)
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"atsd-bot: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(args.log_format, args.log_level, settings.secrets())
    from bot.service.runtime import Runtime  # here: 'atsd-bot --help' need not load the engine

    runtime = Runtime(settings)
    stop = threading.Event()
    exit_code = [0]

    def fatal(code: int) -> None:
        exit_code[0] = code
        stop.set()

    runtime.on_fatal = fatal
    _install_signals(stop, runtime)
    try:
        runtime.start()
    except ChatRejected as exc:
        log.error("Rocket.Chat refused the bot: %s", exc)
        runtime.stop()
        return EXIT_REJECTED
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", settings.http.host, settings.http.port,
                  exc.strerror or exc)
        runtime.stop()
        return EXIT_ADDRESS
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        runtime.stop()
        return EXIT_USAGE
    log.info("atsd-bot is running; web UI at %s/ui/ (SIGTERM stops, SIGHUP reloads rules)",
             runtime.base_url)
    stop.wait()
    log.info("stopping")
    runtime.stop()
    log.info("stopped")
    return exit_code[0]


def _install_signals(stop: threading.Event, runtime: Any) -> None:
    def on_stop(signum: int, _frame: Any) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    def on_hup(_signum: int, _frame: Any) -> None:
        # A handler must return quickly and must not take locks the interrupted code holds.
        threading.Thread(target=runtime.reload_rules, name="rules-reload", daemon=True).start()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, on_hup)
