"""``atsd-bot rules``: import, export, validate and dry-run rules.

- ``rules import FILE [--config C] [--replace] [--pid PID]``: check an ATSD XML or YAML rule
  file and add it to the first rule folder; with ``--pid`` the running service is sent SIGHUP
  to load it (otherwise it loads on the next SIGHUP or start).
- ``rules export [--output FILE] [--config C] [PATH...]``: the loaded rules as ATSD XML.
- ``rules validate [PATH...] [--config C]``: load and check; exit 1 when there are errors.
- ``rules test RULE_FILE [--rule NAME] [--command JSON]... [--replay SINCE] [--config C]``: a
  dry run (the engine's ``dry_run``): per command, what each stage decides and the rendered
  texts. Nothing is sent and no state changes. ``--replay`` reads the stored messages since an
  ISO date or a duration like ``1h``, ``30m``, ``2d``.

Endpoint names are checked against the configuration only when one is given (``--config`` or
``ATSD_BOT_CONFIG``), since without it atsd-bot cannot know which endpoints exist.
Exit codes: 0 done, 1 rule errors or a refused import, 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from bot.cli.common import add_command, add_config_option
from bot.cli.rules_input import UsageError, parse_commands, replay_commands
from bot.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from rules.clock import SystemClock
from rules.command import MessageCommand
from rules.definitions.loader import RuleIssue, errors_of, load_file, load_rules
from rules.definitions.model import Rule

__all__ = ["CONFIG_ENV", "UsageError", "add_parser", "main"]

CONFIG_ENV = "ATSD_BOT_CONFIG"


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    codes = (EXIT_OK, EXIT_FAILED, EXIT_USAGE)
    parser = add_command(
        commands, "rules", purpose="import, export, validate and test rules", group=True,
        description="'atsd-bot rules ACTION --help' for each action.",
        examples=["atsd-bot rules validate --config atsd-bot.toml",
                  "atsd-bot rules test rules.d/disk.yml --command '{\"entity\": \"db1\", "
                  "\"message\": \"disk full\"}'"], codes=codes)
    actions = parser.add_subparsers(dest="rules_action", metavar="ACTION", required=True)

    imp = add_command(
        actions, "import", purpose="check a rule file and add it to the rule folder",
        description="The file goes into the first folder of rules.paths; the running "
                    "service loads it on SIGHUP (--pid sends it).",
        examples=["atsd-bot rules import export.xml --config atsd-bot.toml --pid $(pidof "
                  "atsd-bot)"], codes=codes)
    imp.add_argument("file", help="an ATSD rule export (.xml) or a YAML rule file")
    imp.add_argument("--replace", action="store_true", help="replace a file of the same name")
    imp.add_argument("--pid", type=int,
                     help="send SIGHUP to this running atsd-bot afterwards (default: none)")
    imp.set_defaults(handler=_run(cmd_import))

    exp = add_command(actions, "export", purpose="write the rules as ATSD XML",
                      examples=["atsd-bot rules export --config atsd-bot.toml -o rules.xml"],
                      codes=codes)
    exp.add_argument("paths", nargs="*",
                     help="rule files or folders (default: the configured rules.paths)")
    exp.add_argument("--output", "-o", metavar="FILE",
                     help="write to this file (default: standard output)")
    exp.set_defaults(handler=_run(cmd_export))

    val = add_command(actions, "validate", purpose="load and check rules, report every problem",
                      examples=["atsd-bot rules validate --config atsd-bot.toml",
                                "atsd-bot rules validate rules.d/new.yml"], codes=codes)
    val.add_argument("paths", nargs="*",
                     help="rule files or folders (default: the configured rules.paths)")
    val.set_defaults(handler=_run(cmd_validate))

    test = add_command(
        actions, "test", purpose="dry-run rules against commands; sends nothing",
        description="Per command: what each stage decides and the texts it would send. "
                    "--replay reads the stored messages of the configured database.",
        examples=["atsd-bot rules test rules.d/disk.yml --command '{\"entity\": \"db1\", "
                  "\"message\": \"disk full\"}'",
                  "atsd-bot rules test rules.d/disk.yml --replay 2h --config atsd-bot.toml"],
        codes=codes)
    test.add_argument("rule_file", help="a YAML or XML rule file")
    test.add_argument("--rule", help="the rule to test (default: every rule in the file)")
    source = test.add_mutually_exclusive_group(required=True)
    source.add_argument("--command", action="append", metavar="JSON",
                        help="a message command as JSON (object or array); repeatable "
                             "(default: none; this or --replay)")
    source.add_argument("--replay", metavar="SINCE",
                        help="stored messages since an ISO date or a duration (1h, 30m, 2d) "
                             "(default: none; this or --command)")
    test.add_argument("--limit", type=int, default=1000, help="at most this many replayed")
    test.add_argument("--json", action="store_true", help="print the report as JSON")
    test.set_defaults(handler=_run(cmd_test))

    for sub in (imp, exp, val, test):
        add_config_option(sub)


def _run(command: Any) -> Any:
    """Wrap a command: usage and configuration errors become one line and exit code 2."""

    def handler(args: argparse.Namespace) -> int:
        from bot.errors import ConfigError

        try:
            result: int = command(args, sys.stdout)
            return result
        except (UsageError, ConfigError) as exc:
            print(f"atsd-bot rules: {exc}", file=sys.stderr)
            return EXIT_USAGE

    return handler


def _settings(args: argparse.Namespace) -> tuple[Any, bool]:
    """The settings and whether a configuration file was given (endpoints known)."""
    from bot.config import config_path, load_settings

    path = config_path(args.config)
    return load_settings(path), path is not None


def _print_issues(issues: Sequence[RuleIssue]) -> None:
    for issue in issues:
        print(str(issue), file=sys.stderr)


# -- commands -------------------------------------------------------------------------------


def _load_rules(args: argparse.Namespace) -> tuple[list[Rule], list[RuleIssue], bool]:
    """The rules under ``args.paths`` (or the configured folders), their issues printed."""
    settings, configured = _settings(args)
    paths = args.paths or settings.rules.paths
    rules, issues = load_rules(paths, endpoints=settings.endpoints.keys() if configured else None,
                               base_dir=None if args.paths else settings.base_dir)
    _print_issues(issues)
    return rules, issues, configured


def cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    rules, issues, configured = _load_rules(args)
    errors = errors_of(issues)
    note = "" if configured else " (endpoint names not checked: give --config)"
    print(f"{len(rules)} rules valid, {len(errors)} errors, "
          f"{len(issues) - len(errors)} warnings{note}", file=out)
    return 1 if errors else 0


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    from rules.definitions.atsd_xml import export_xml

    rules, issues, _ = _load_rules(args)
    text = export_xml(rules)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"{len(rules)} rules written to {args.output}", file=sys.stderr)
    else:
        out.write(text)
    errors = errors_of(issues)
    if errors:
        print(f"{len(errors)} rule errors: those rules were not exported", file=sys.stderr)
    return 1 if errors else 0


def cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    from rules.definitions.rule_set import RuleSet

    settings, configured = _settings(args)
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    ruleset = RuleSet(settings.rules.paths,
                      endpoints=settings.endpoints.keys() if configured else None,
                      base_dir=settings.base_dir)
    result = ruleset.import_file(Path(args.file).name, data, replace=args.replace)
    _print_issues(result.issues)
    if not result.ok:
        print(f"{args.file}: not imported", file=out)
        return 1
    print(f"imported {len(result.rules)} rules ({', '.join(result.rules)}) into {result.path}",
          file=out)
    if args.pid:
        try:
            os.kill(args.pid, signal.SIGHUP)
        except OSError as exc:
            print(f"could not signal process {args.pid}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"sent SIGHUP to {args.pid}: the service reloads its rules", file=out)
    else:
        print("the running service loads it on SIGHUP (or use --pid PID)", file=out)
    return 0


def cmd_test(args: argparse.Namespace, out: TextIO) -> int:
    settings, configured = _settings(args)
    endpoints = settings.endpoints.keys() if configured else None
    rules, issues = load_file(args.rule_file, endpoints=endpoints)
    _print_issues(issues)
    chosen = [r for r in rules if args.rule is None or r.name == args.rule]
    if not chosen:
        wanted = f"rule {args.rule!r}" if args.rule else "a valid rule"
        print(f"{args.rule_file}: no {wanted} to test", file=sys.stderr)
        return 1
    if args.command:
        commands = parse_commands(args.command)
        db_url = "sqlite://"
    else:
        db_url = settings.database.url
        _stored_messages_exist(db_url, configured)
        commands = replay_commands(db_url, args.replay, args.limit, SystemClock().now())
    names = set(settings.endpoints)
    if not configured:  # nothing is sent: let the rule's own endpoint names stand
        names |= {n.endpoint for rule in chosen for n in rule.notifications}
    reports = dry_run(chosen, commands, db_url=db_url, endpoints=names)
    if args.json:
        json.dump([_jsonable(r) for r in reports], out, indent=2, default=str)
        out.write("\n")
    else:
        for rule, report in zip(chosen, reports, strict=True):
            print(f"== rule {rule.name} ({len(commands)} commands)", file=out)
            print(_report_text(report), file=out)
    return 0


def _stored_messages_exist(db_url: str, configured: bool) -> None:
    """--replay reads a store; it must not create one where there is none."""
    from rules.store.inspect import store_state

    try:
        state = store_state(db_url)
    except Exception as exc:
        raise UsageError(f"--replay: cannot read the database: {exc}") from None
    if not state.exists:
        hint = "" if configured else (": give the running service's configuration with "
                                      "--config or ATSD_BOT_CONFIG")
        raise UsageError(f"--replay: no stored messages, the database {db_url} has no "
                         f"tables{hint}")


# -- dry run ------------------------------------------------------------------------------


def dry_run(rules: Sequence[Rule], commands: Sequence[MessageCommand], *, db_url: str,
            endpoints: Any) -> list[Any]:
    """One engine report per rule; the engine runs on ``db_url`` but changes nothing there."""
    from rules.clock import SystemClock
    from rules.engine.rule_engine import RuleEngine
    from rules.store import Database

    db = Database(db_url)
    try:
        if db_url == "sqlite://":
            db.create_schema()  # a throw-away store for functions like db_message_count
        engine = RuleEngine(db, SystemClock(), endpoints=tuple(endpoints))
        return [engine.dry_run(rule, list(commands)) for rule in rules]
    finally:
        db.dispose()


def _jsonable(report: Any) -> Any:
    for name in ("to_json", "as_dict"):
        if hasattr(report, name):
            return getattr(report, name)()
    return report


def _report_text(report: Any) -> str:
    for name in ("to_text", "format", "render"):
        if hasattr(report, name):
            return str(getattr(report, name)())
    return json.dumps(_jsonable(report), indent=2, default=str)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bot.cli.rules ...`` is ``atsd-bot rules ...``."""
    parser = argparse.ArgumentParser(prog="atsd-bot")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["rules", *(sys.argv[1:] if argv is None else argv)])
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
