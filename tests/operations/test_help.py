"""Every ``--help``: a one-line purpose, every option with its default, examples, exit codes."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bot.__main__ import build_parser
from bot.exit_codes import MEANINGS
from scripts import check_integration, create_bot_user, create_outgoing_integration
from tests.operations.conftest import CLEAN_ENV, ROOT, Run

Named = tuple[str, argparse.ArgumentParser]


def _parsers(parser: argparse.ArgumentParser, name: str) -> Iterator[Named]:
    yield name, parser
    for action in parser._actions:  # noqa: SLF001 - argparse keeps its tree here
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def _all() -> list[Named]:
    found = [p for p in _parsers(build_parser(), "atsd-bot") if p[0] != "atsd-bot"]
    found = [p for p in found if not p[0].startswith("atsd-bot setup ")]  # the scripts', below
    found += [(f"atsd-bot setup {action}", script.make_parser({}, prog=f"atsd-bot setup {action}"))
              for action, script in (("bot-user", create_bot_user),
                                     ("integration", create_outgoing_integration),
                                     ("check", check_integration))]
    return found


@pytest.mark.parametrize("name,parser", _all(), ids=lambda v: v if isinstance(v, str) else "")
def test_help_has_purpose_defaults_examples_and_exit_codes(
        name: str, parser: argparse.ArgumentParser) -> None:
    text = parser.format_help()
    assert parser.description and parser.description.split("\n")[0].endswith("."), name
    assert "\nexamples:\n  " in text, f"{name}: no example"
    codes = re.findall(r"^  (\d+) +(.+)$", text.split("exit codes:")[-1], re.M)
    assert codes and all(MEANINGS[int(c)] == m.strip() for c, m in codes), name
    for action in parser._actions:  # noqa: SLF001
        if not action.option_strings or action.help in (None, argparse.SUPPRESS) \
                or "--help" in action.option_strings or "--version" in action.option_strings:
            continue
        shown = parser._get_formatter()._get_help_string(action) if hasattr(  # noqa: SLF001
            parser._get_formatter(), "_get_help_string") else action.help  # noqa: SLF001
        assert "default" in shown or "required" in shown, f"{name} {action.option_strings}"


def test_the_codes_mean_one_thing_each() -> None:
    assert len(set(MEANINGS.values())) == len(MEANINGS)


def test_setup_hands_the_command_line_to_the_script(run: Run) -> None:
    done = run("setup", "bot-user", "--help")
    assert done.returncode == 0 and "--bot-username" in done.stdout
    assert done.stdout.startswith("usage: atsd-bot setup bot-user [-h]")
    missing = run("setup", "integration")
    assert missing.returncode == 2
    assert missing.stderr.startswith("atsd-bot: error: the following arguments are required")
    assert missing.stderr.endswith("; see atsd-bot setup integration --help\n")
    assert "atsd-bot-create-integration" not in missing.stderr
    listed = run("setup", "--help")
    assert all(action in listed.stdout for action in ("bot-user", "integration", "check"))


@pytest.mark.parametrize("action,script", [("bot-user", "create_bot_user"),
                                           ("integration", "create_outgoing_integration"),
                                           ("check", "check_integration")])
def test_setup_names_itself_and_the_scripts_keep_their_names(run: Run, action: str,
                                                             script: str) -> None:
    via_setup = run("setup", action, "--help")
    assert via_setup.stdout.startswith(f"usage: atsd-bot setup {action} [-h]")
    own = {"create_bot_user": "atsd-bot-create-user",
           "create_outgoing_integration": "atsd-bot-create-integration",
           "check_integration": "atsd-bot-check-integration"}[script]
    alone = _script(script, "--help")
    assert alone.stdout.startswith(f"usage: {own} [-h]"), alone.stderr
    bare = _script(script)
    assert bare.returncode == 2 and bare.stderr.startswith("error: ")
    assert bare.stderr.endswith(f"; see {own} --help\n")


def _script(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", f"scripts.{module}", *args], cwd=ROOT,
                          env={**CLEAN_ENV, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=60)


def test_setup_failures_start_like_every_atsd_bot_line(run: Run) -> None:
    down = run("setup", "bot-user", "--server", "http://127.0.0.1:9", "--admin-user", "a",
               "--bot-username", "atsd_bot", env={"ATSD_BOT_PROVISION_ADMIN_PASSWORD": "pw-1"})
    assert down.returncode == 4
    assert down.stderr.startswith("atsd-bot: error: cannot connect to http://127.0.0.1:9")
