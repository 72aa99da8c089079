"""What every provisioning script shares: options, environment defaults, admin login, output.

Conventions (all three scripts):

* Every ``--flag`` may come from ``ATSD_BOT_PROVISION_<FLAG>`` instead (``--admin-password`` ->
  ``ATSD_BOT_PROVISION_ADMIN_PASSWORD``), so secrets need not be on a command line where
  ``ps`` shows them. A flag on the command line wins over the environment.
* Exactly one JSON document goes to stdout (the machine-readable result); human progress goes
  to stderr. A failure prints one line ``error: <what is wrong>; <what to do>`` to stderr and
  exits non-zero, never with a traceback. Reached as ``atsd-bot setup ACTION`` (``prog``), the
  usage and ``--help`` name that command and the line starts ``atsd-bot:`` as every
  ``atsd-bot`` command's does.

Exit codes: 0 done, 2 bad arguments, 3 refused by Rocket.Chat (credentials, permission,
validation, two-factor) or, for the self-test, by atsd-bot (the API user, the integration's
request), 4 Rocket.Chat (or, for the self-test, atsd-bot) unreachable or not what it should
be, 5 a conflict the admin must resolve (a username taken by a non-bot user, duplicate
integrations), 6 the self-test did not see its probe arrive, 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

from bot.errors import AtsdBotError, ChatRejected, ChatUnavailable
from bot.exit_codes import (
    EXIT_CONFLICT,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    help_epilog,
)
from bot.rest.client import DEFAULT_TIMEOUT, RestClient

ENV_PREFIX = "ATSD_BOT_PROVISION_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
# Admin sessions opened by password in this run; logged out at the end so that repeated runs
# do not pile up login tokens on the admin account.
_SESSIONS: list[RestClient] = []


class ProvisionError(AtsdBotError):
    """A failure the script reports in one line; ``exit_code`` says which kind."""

    def __init__(self, message: str, exit_code: int = EXIT_CONFLICT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class EnvArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose options default to ``ATSD_BOT_PROVISION_*`` variables."""

    def __init__(self, *args: Any, environ: Mapping[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environ = os.environ if environ is None else environ

    def env_name(self, flag: str) -> str:
        return ENV_PREFIX + flag.lstrip("-").replace("-", "_").upper()

    def option(self, flag: str, *, flag_only: bool = False, **kwargs: Any) -> None:
        """Add ``flag``; its default is read from the environment unless ``flag_only``."""
        name = self.env_name(flag)
        help_text = kwargs.pop("help", "")
        if "default" not in help_text:
            help_text = f"{help_text} {_default_text(kwargs)}".strip()
        if not flag_only and name in self.environ:
            kwargs["default"] = self._convert(flag, name, self.environ[name], kwargs)
            kwargs.pop("required", None)
        if not flag_only:
            help_text = f"{help_text} [env {name}]".strip()
        self.add_argument(flag, help=help_text, **kwargs)

    def _convert(self, flag: str, name: str, raw: str, kwargs: Mapping[str, Any]) -> Any:
        if kwargs.get("action") == "store_true":
            value = raw.strip().lower()
            if value in _TRUE or value in _FALSE:
                return value in _TRUE
            self.error(f"{name}={raw!r}: expected true or false")
        convert = kwargs.get("type", str)
        try:
            return convert(raw)
        except (TypeError, ValueError):
            self.error(f"{name}: not a valid value for {flag}")

    def error(self, message: str) -> NoReturn:
        """One line instead of argparse's usage block; exit code 2."""
        self.exit(EXIT_USAGE, f"{line_start(self.prog)}error: {message}; see {self.prog} "
                              "--help\n")


def line_start(prog: str) -> str:
    """What a failure line starts with: ``atsd-bot: `` when reached as ``atsd-bot setup …``
    (as every atsd-bot command's line does); nothing for the scripts' own names."""
    return "atsd-bot: " if prog.startswith("atsd-bot ") else ""


def _default_text(kwargs: Mapping[str, Any]) -> str:
    if kwargs.get("required"):
        return "(required)"
    default = kwargs.get("default")
    if kwargs.get("action") == "store_true":
        return "(default: on)" if default else "(default: off)"
    return "(default: unset)" if default is None else f"(default: {default})"


def parser(prog: str, description: str, environ: Mapping[str, str] | None = None, *,
           examples: Sequence[str] = (), codes: Sequence[int] = ()) -> EnvArgumentParser:
    """A parser with the server, admin-credential, timeout and dry-run options; its help
    ends with ``examples`` and the exit codes (``codes``, meanings from bot.exit_codes)."""
    codes = codes or (EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_REJECTED, EXIT_UNAVAILABLE)
    p = EnvArgumentParser(prog=prog, description=description, environ=environ,
                          formatter_class=argparse.RawDescriptionHelpFormatter,
                          epilog=help_epilog(examples, codes) if examples else None)
    p.option("--server", required=True, metavar="URL",
             help="Rocket.Chat base URL, e.g. https://chat.example.com")
    p.option("--admin-user", metavar="USER",
             help="admin username or e-mail (with --admin-password)")
    p.option("--admin-password", metavar="PASSWORD", help="admin password (prefer the env var)")
    p.option("--admin-id", metavar="ID", help="admin user id (with --admin-token)")
    p.option("--admin-token", metavar="TOKEN",
             help="admin personal access token (prefer the env var)")
    p.option("--admin-2fa-code", metavar="CODE", help="current two-factor code for the admin")
    p.option("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
             help="per-request timeout")
    p.option("--dry-run", action="store_true", default=False,
             help="show what would be done, change nothing")
    return p


def admin_client(args: argparse.Namespace,
                 client_factory: type[RestClient] = RestClient) -> RestClient:
    """Check that ``--server`` is Rocket.Chat, then log in as the admin either way."""
    url = checked_url("--server", str(args.server), "--admin-user/--admin-password")
    by_password = bool(args.admin_user or args.admin_password)
    by_token = bool(args.admin_id or args.admin_token)
    if by_password == by_token or (by_password and not (args.admin_user and args.admin_password)) \
            or (by_token and not (args.admin_id and args.admin_token)):
        raise ProvisionError("give the admin credentials as --admin-user and --admin-password, "
                             "or as --admin-id and --admin-token (not both)", EXIT_USAGE)
    info = client_factory(url, timeout=args.timeout).info()
    progress(f"Rocket.Chat {info.get('version', '(version hidden)')} at {url}")
    if by_password:
        client = client_factory.with_password(url, args.admin_user, args.admin_password,
                                              timeout=args.timeout,
                                              totp_code=args.admin_2fa_code)
        _SESSIONS.append(client)  # logged out when the script ends
    else:
        client = client_factory.with_token(url, args.admin_id, args.admin_token,
                                           timeout=args.timeout)
        me = client.me()  # a token is only checked when used: check it now
        client.username = me.get("username")
    progress(f"logged in as admin {client.username or client.user_id}")
    return client


def require_bot_user(admin: RestClient, username: str) -> None:
    """Refuse to go on (exit code "conflict") when the bot user has not been created yet."""
    if admin.users_info(username=username) is None:
        raise ProvisionError(f"bot user {username!r} does not exist; run "
                             "atsd-bot-create-user first", EXIT_CONFLICT)


def checked_url(flag: str, url: str, instead: str) -> str:
    """An http(s) base URL without trailing slash; credentials in it are refused, not echoed."""
    url = url.strip().rstrip("/")
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in ("http", "https") or not rest:
        raise ProvisionError(f"{flag} is not an http(s) URL; give e.g. https://host:port",
                             EXIT_USAGE)
    if "@" in rest.split("/", 1)[0]:
        raise ProvisionError(f"{flag} must not carry user:password@ (it would be shown and "
                             f"logged); use {instead}", EXIT_USAGE)
    return url


def progress(message: str) -> None:
    """One line of human progress on stderr (stdout is reserved for the JSON result)."""
    print(message, file=sys.stderr, flush=True)


def emit(document: Mapping[str, Any]) -> None:
    """The one JSON document on stdout."""
    print(json.dumps(document, indent=2, sort_keys=True), flush=True)


def run(body: Callable[[argparse.Namespace], Mapping[str, Any]],
        make_parser: Callable[..., argparse.ArgumentParser],
        argv: Sequence[str] | None, prog: str | None = None) -> int:
    """Parse ``argv``, run ``body``, print its result; map every failure to one line + code.
    ``prog`` names the command when it is not the script's own name (``atsd-bot setup …``)."""
    try:
        parser = make_parser(prog=prog) if prog else make_parser()
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its one line (or --help)
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    start = line_start(prog or "")
    try:
        document = _with_logout(body, args)
    except ProvisionError as exc:
        return _fail(start, str(exc), exc.exit_code)
    except ChatRejected as exc:
        return _fail(start, str(exc), EXIT_REJECTED)
    except ChatUnavailable as exc:
        return _fail(start, str(exc), EXIT_UNAVAILABLE)
    except KeyboardInterrupt:
        return _fail(start, "interrupted; re-run the same command to finish", 130)
    except Exception as exc:  # noqa: BLE001 - the promise is: one line, never a traceback
        return _fail(start, f"unexpected {type(exc).__name__}: {exc}; re-run with the same "
                            "arguments or report this", EXIT_INTERNAL)
    emit(document)
    return EXIT_OK


def _with_logout(body: Callable[[argparse.Namespace], Mapping[str, Any]],
                 args: argparse.Namespace) -> Mapping[str, Any]:
    """Run ``body``; end the admin sessions it opened by password, whatever happened."""
    try:
        return body(args)
    finally:
        while _SESSIONS:
            try:
                _SESSIONS.pop().logout()
            except AtsdBotError:  # best effort: an unused login token expires on its own
                progress("note: could not log the admin session out; it expires on its own")


def _fail(start: str, message: str, code: int) -> int:
    print(f"{start}error: {message}", file=sys.stderr, flush=True)
    return code
