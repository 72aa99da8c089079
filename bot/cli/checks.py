"""The checks of ``atsd-bot config check``: everything a start needs, creating nothing.

Each check is one line: ``ok`` with what was found, or ``problem`` with what is wrong and how
to fix it. A configuration fresh from ``atsd-bot init`` passes: a database not created yet and
an absent ``[rocketchat]`` are not problems (``serve`` creates the one and runs without the
other).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import Settings, read_config, read_toml
from bot.errors import ChatRejected, ChatUnavailable, ConfigError
from bot.service.http_server import listen_error
from bot.service.store_open import describe
from rules.definitions.loader import errors_of, load_rules
from rules.store.inspect import sqlite_path, store_state

__all__ = ["MAX_RULE_PROBLEMS", "Check", "run_checks"]

MAX_RULE_PROBLEMS = 10


@dataclass(frozen=True)
class Check:
    name: str
    detail: str = ""  # ok: what was found
    problem: str = ""  # what is wrong; how to fix it
    warning: str = ""  # worth fixing, but a start does not need it (it is not a problem)

    @property
    def ok(self) -> bool:
        return not self.problem

    def line(self) -> str:
        if self.problem:
            return f"problem  {self.name}: {self.problem}"
        if self.warning:
            return f"warning  {self.name}: {self.warning}"
        return f"ok       {self.name}: {self.detail}"


def run_checks(path: Path | None, environ: Mapping[str, str] | None = None) -> Iterator[Check]:
    """Every check, in the order a start meets them; later ones need the settings."""
    if path is None:
        yield Check("configuration", "none given: built-in defaults and ATSD_BOT_* variables "
                                     "(give --config FILE or set ATSD_BOT_CONFIG)")
    else:
        try:
            read_toml(path)
        except ConfigError as exc:
            yield Check("configuration file", problem=str(exc))
            return
        yield Check("configuration file", str(path.resolve()))
    try:
        loaded = read_config(path, environ)
    except ConfigError as exc:
        yield Check("settings", problem=f"{exc}; fix it, then check again")
        return
    for warning in loaded.warnings:
        yield Check("environment", warning=f"{warning}; remove it or correct its name")
    settings = loaded.settings
    yield Check("settings", "every section, key and type")
    yield _users(settings)
    yield from _rules(settings)
    yield _database(settings)
    yield _session_key(settings)
    yield _port(settings)
    yield from _rocketchat(settings)


def _users(settings: Settings) -> Check:
    if not settings.users:
        return Check("users", problem="no [[users]]: nobody can log in to the web UI and every "
                                      "webhook is refused; add a [[users]] table (atsd-bot "
                                      "hash-password makes its password_hash)")
    admins = [u.name for u in settings.users if "admin" in u.roles]
    return Check("users", f"{len(settings.users)}; with role admin: {', '.join(admins) or 'none'}")


def _rules(settings: Settings) -> Iterator[Check]:
    rules, issues = load_rules(settings.rules.paths, endpoints=settings.endpoints.keys(),
                               base_dir=settings.base_dir)
    errors = errors_of(issues)
    for issue in errors[:MAX_RULE_PROBLEMS]:
        # a path that is not there names its own fix (create it, or fix rules.paths)
        fix = "" if " not found" in issue.message and not issue.rule \
            else "; fix the file, or check it with atsd-bot rules validate"
        yield Check("rules", problem=f"{issue}{fix}")
    if len(errors) > MAX_RULE_PROBLEMS:
        yield Check("rules", problem=f"{len(errors) - MAX_RULE_PROBLEMS} more rule errors; "
                                     "see atsd-bot rules validate")
    folders = ", ".join(str(_under(settings.base_dir, p)) for p in settings.rules.paths)
    if not rules and not errors:
        yield Check("rules", problem=f"no rules in {folders}: messages would raise no alerts; "
                                     "put rule files there (docs/rules.md)")
    elif rules:
        warned = len(issues) - len(errors)
        yield Check("rules", f"{len(rules)} from {folders}"
                             + (f" ({warned} warnings: atsd-bot rules validate)" if warned
                                else ""))


def _under(base: Path, path: str) -> Path:
    return Path(path) if Path(path).is_absolute() else base / path


def _database(settings: Settings) -> Check:
    url = settings.database.url
    try:
        state = store_state(url)
    except Exception as exc:
        return Check("database", problem=str(describe(url, exc)))
    file = sqlite_path(url)
    where = str(file) if file is not None else make_url(url).render_as_string(
        hide_password=True)
    if state.version is not None and state.version > state.current:
        return Check("database", problem=f"{where} holds schema version {state.version}, newer "
                                         f"than this atsd-bot's ({state.current}); run the "
                                         "newer atsd-bot or restore the backup")
    if not state.exists:
        if file is not None:
            folder = _nearest_folder(file.parent)
            if not os.access(folder, os.W_OK):
                return Check("database", problem=f"{folder} is not writable, so {file} cannot "
                                                 "be created; make it writable or change "
                                                 "database.url")
        return Check("database", f"{where} has no tables yet; serve creates them")
    note = "" if state.version == state.current else \
        f"; serve upgrades it from version {state.version} (back it up first)"
    return Check("database", f"{where}, schema version {state.version}{note}")


def _nearest_folder(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _session_key(settings: Settings) -> Check:
    if settings.http.secret_key:
        return Check("web UI session key", "set ([http] secret_key)")
    return Check("web UI session key", "not set: one is generated at the first start and kept "
                                       "in the database")


def _port(settings: Settings) -> Check:
    http = settings.http
    name = f"listen address {http.host}:{http.port}"
    try:
        infos = socket.getaddrinfo(http.host, http.port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        return Check(name, problem=str(listen_error(http, socket.gaierror(str(exc)))))
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress does
        try:
            probe.bind(address)
        except OSError as exc:
            return Check(name, problem=str(listen_error(http, exc)))
    return Check(name, "free")


def _rocketchat(settings: Settings) -> Iterator[Check]:
    rc = settings.rocketchat
    if rc is None:
        yield Check("rocketchat", "not configured: atsd-bot takes webhooks but is not in "
                                  "Rocket.Chat until you add [rocketchat]")
        return
    from bot.rest.probe import probe  # here: the other commands need no requests session

    try:
        report = probe(rc)
    except ChatRejected as exc:
        yield Check("rocketchat", problem=str(exc))
        return
    except ChatUnavailable as exc:
        yield Check("rocketchat", problem=f"{exc}; try again in a minute")
        return
    if not report.reachable:
        yield Check("rocketchat", problem=report.warnings[0])
        return
    yield Check("rocketchat", report.lines()[0])
    for warning in report.warnings:
        yield Check("rocketchat permissions", problem=warning)
    for note in report.unchecked:
        yield Check("rocketchat permissions", note)
