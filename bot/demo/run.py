"""``atsd-bot demo``: the whole loop on this machine, against the Rocket.Chat simulator.

``atsd-bot demo run`` (what ``make run`` does):

1. starts the simulator (``python -m tests.rocketchat_server``) on a free port;
2. provisions the bot user and the outgoing integration with the real scripts
   (``scripts.create_bot_user``, ``scripts.create_outgoing_integration``), secrets passed in
   ``ATSD_BOT_PROVISION_*`` variables, never on a command line;
3. writes ``var/demo/atsd-bot.toml`` (SQLite, the seed rule in ``rules.d/``, the integration's
   user and token, the bot's login, a web UI admin) and starts ``atsd-bot serve`` with it;
4. creates the user ``alice`` and posts "hello @atsd_bot" to the bot as her;
5. prints the conversation as it happens (her message, the command made, the alert opened,
   the bot's reply in the room);
6. plays one alert's life as a living message (bot/demo/living.py): a monitoring webhook opens
   a ``thread`` alert in ``#ops``, repeats it, alice acknowledges it with the button, a last
   report resolves it, and the room and the thread are printed as a user sees them;
7. keeps printing each further exchange, with the UI address and login on screen, until
   Ctrl-C. ``atsd-bot demo say "text"`` posts another message as
   alice from a second terminal (it reads ``var/demo/demo.json``).

Every run starts from a fresh simulator and a fresh database. The files under ``var/demo/``
(config, logs, ``demo.json`` with the demo's throw-away passwords, mode 0600) stay for a look.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bot.demo.living import LivingAct
from bot.demo.setup import DemoProcesses, DemoState, provision_and_start, require_checkout
from bot.demo.watch import Conversation
from bot.errors import DemoError
from bot.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

BOT = "atsd_bot"
USER = "alice"
FIRST_MESSAGE = f"hello @{BOT}"
POLL = 0.25


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    from bot.cli.common import add_command

    codes = (EXIT_OK, EXIT_FAILED, EXIT_USAGE)
    parser = add_command(
        commands, "demo", purpose="show the whole loop against the simulator", group=True,
        description="Needs a checkout of atsd-bot (the simulator lives under tests/).",
        examples=["atsd-bot demo run", "atsd-bot demo say 'disk full on db1'"], codes=codes)
    sub = parser.add_subparsers(dest="demo_command", metavar="ACTION", required=True)
    run = add_command(
        sub, "run", purpose="start simulator + atsd-bot, say hello, print the loop",
        description="What 'make run' does; Ctrl-C stops everything.",
        examples=["atsd-bot demo run", "atsd-bot demo run --once --timeout 120"], codes=codes)
    run.add_argument("--dir", default="var/demo", help="where config, logs and state go")
    run.add_argument("--once", action="store_true",
                     help="stop after the bot's first reply (tests, CI) instead of Ctrl-C")
    run.add_argument("--timeout", type=float, default=60.0,
                     help="with --once: give up after this many seconds")
    run.set_defaults(handler=run_command)
    say = add_command(sub, "say", purpose=f"post a message to @{BOT} as {USER}",
                      description="While 'atsd-bot demo run' runs, from a second terminal.",
                      examples=["atsd-bot demo say 'hello again'"], codes=codes)
    say.add_argument("text", help="the message text")
    say.add_argument("--dir", default="var/demo", help="the folder of the running demo")
    say.set_defaults(handler=say_command)


def run_command(args: argparse.Namespace) -> int:
    out = _printer()
    try:
        require_checkout()
    except DemoError as exc:
        print(f"atsd-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = run_demo(Path(args.dir), once=args.once, timeout=args.timeout, out=out)
    except DemoError as exc:
        out(f"\n✗ {exc}")
        return 1
    return 0 if result is not None else 1


def say_command(args: argparse.Namespace) -> int:
    try:
        state = DemoState.load(Path(args.dir))
    except (OSError, ValueError):
        print(f"no running demo found in {args.dir}: start one with 'make run' "
              "(or 'atsd-bot demo run') first", file=sys.stderr)
        return 1
    try:
        post_as_user(state, args.text)
    except requests.RequestException as exc:
        print(f"the demo's simulator at {state.sim_url} does not answer ({type(exc).__name__});"
              " is 'make run' still running?", file=sys.stderr)
        return 1
    print(f"posted as @{USER}: {args.text}")
    return 0


def run_demo(directory: Path, *, once: bool = False, timeout: float = 60.0,
             out: Callable[[str], None] = print,
             stop: threading.Event | None = None) -> Conversation | None:
    """Run the demo; with ``once`` return the conversation after the bot's first reply."""
    stop = stop or threading.Event()
    processes = DemoProcesses(directory, out)
    DemoState.forget(directory)  # a stale state would point 'say' at a dead simulator
    conversation: Conversation | None = None
    try:
        state = provision_and_start(processes, bot=BOT, user=USER)
        state.save(directory)
        conversation = Conversation(
            sim_url=state.sim_url, sim_admin_password=state.sim_admin_password,
            atsd_url=state.atsd_url, api_auth=(state.ui_user, state.ui_password),
            bot_username=BOT, since=datetime.now(UTC), out=out)
        _banner(state, out, once)
        message = post_as_user(state, FIRST_MESSAGE)
        conversation.room_id = state.room_id = str(message.get("rid") or "")
        state.save(directory)
        _watch(conversation, once=True, timeout=timeout, stop=stop)
        if stop.is_set():
            return conversation  # stopped before the first reply
        _living(state, out)
        if once:
            return conversation
        return _watch(conversation, once=False, timeout=timeout, stop=stop)
    except KeyboardInterrupt:
        out("\nstopping…")
        # Ctrl-C is how an interactive demo ends; with --once it means it was cut short
        return None if once else conversation
    finally:
        DemoState.forget(directory)
        processes.stop()


def _watch(conversation: Conversation, *, once: bool, timeout: float,
           stop: threading.Event) -> Conversation | None:
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        conversation.poll()
        if once and conversation.replies():
            return conversation
        if once and time.monotonic() > deadline:
            raise DemoError(f"no reply from @{BOT} within {timeout:g} s; see the logs in "
                            "var/demo/ (atsd-bot.log, simulator.log)")
        stop.wait(POLL)
    return conversation


def _living(state: DemoState, out: Callable[[str], None]) -> None:
    assert state.ops_room is not None and state.monitor_password is not None
    LivingAct(sim_url=state.sim_url, sim_admin_password=state.sim_admin_password,
              atsd_url=state.atsd_url, room=state.ops_room,
              monitor_password=state.monitor_password, user=USER, bot=BOT, out=out).run()


def post_as_user(state: DemoState, text: str) -> dict[str, Any]:
    """Post ``text`` to the bot's DM as the demo user (through the simulator's control API,
    which runs the same code as a user's ``chat.sendMessage``: integrations and streams fire)."""
    answer = requests.post(f"{state.sim_url}/_sim/messages",
                           headers={"X-Sim-Admin": state.sim_admin_password},
                           json={"username": USER, "room": f"@{BOT}", "text": text}, timeout=10)
    if answer.status_code != 200:
        raise DemoError(f"the simulator refused the message: {answer.text[:200]}")
    message: dict[str, Any] = answer.json().get("message") or {}
    return message


def _banner(state: DemoState, out: Callable[[str], None], once: bool) -> None:
    out("")
    out("────────────────────────────────────────────────────────────────────────")
    out(f" atsd-bot web UI : {state.atsd_url}/ui/   (log in as {state.ui_user} / "
        f"{state.ui_password})")
    out(f" Rocket.Chat sim : {state.sim_url}   (admin / {state.sim_admin_password})")
    out(f" say more        : .venv/bin/atsd-bot demo say \"your text\"    "
        f"({'stops after the first reply' if once else 'Ctrl-C stops everything'})")
    out("────────────────────────────────────────────────────────────────────────")
    out("")


def _printer() -> Callable[[str], None]:
    def out(text: str) -> None:
        print(text, flush=True)

    # Emoji are decoration; a terminal without UTF-8 gets plain text instead of an error.
    if (sys.stdout.encoding or "").lower().replace("-", "") != "utf8":
        def plain(text: str) -> None:
            out(text.encode("ascii", "replace").decode("ascii"))
        return plain
    return out

