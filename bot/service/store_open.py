"""Open the store for a command, turning every way it can fail into one line and an exit code.

- A PostgreSQL server that does not answer (refused, timed out) is tried again until
  :data:`GIVE_UP_SECONDS` have passed: a service started at boot beside its database waits a
  little, yet ``serve`` exits well within 30 s when the database is really gone.
- A refused login, a database or role that does not exist, a host that does not resolve:
  at once, since waiting will not fix them (``EXIT_DATABASE``).
- A SQLite file or folder that cannot be created or written: at once (``EXIT_PATH``).
- A schema newer than this atsd-bot: at once (``EXIT_DATABASE``), naming both versions.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.config import DatabaseSettings
from bot.errors import StartError
from bot.exit_codes import EXIT_DATABASE, EXIT_PATH
from rules.store import Database
from rules.store.db import SchemaError

log = logging.getLogger(__name__)

GIVE_UP_SECONDS = 20.0
RETRY_SECONDS = 1.0
# words of a PostgreSQL failure that waiting does not fix
_FINAL = ("authentication failed", "does not exist", "resolve host", "translate host name",
          "no password supplied", "pg_hba.conf", "permission denied")


def open_store(settings: DatabaseSettings, *, create: bool = True,
               give_up_after: float = GIVE_UP_SECONDS,
               sleep: Callable[[float], None] = time.sleep) -> Database:
    """The store with its schema in place (``create``) or just answering a query."""
    deadline = time.monotonic() + give_up_after
    attempt = 0
    while True:
        attempt += 1
        try:
            return _open(settings, create)
        except StartError:
            raise
        except (DBAPIError, OSError, sqlite3.Error) as exc:
            error = describe(settings.url, exc)
            if error.exit_code != EXIT_DATABASE or _final(exc) \
                    or time.monotonic() + RETRY_SECONDS > deadline:
                raise error from None
            if attempt == 1:
                log.warning("%s; trying again for up to %.0f s", error, give_up_after)
            sleep(RETRY_SECONDS)


def _open(settings: DatabaseSettings, create: bool) -> Database:
    db = Database(settings.url, synchronous=settings.synchronous)
    try:
        if create:
            version = db.create_schema()
            log.info("store: %s (schema version %d)", db.safe_url(), version)
        else:
            db.ping()
    except SchemaError as exc:
        db.dispose()
        raise StartError(f"{exc}", EXIT_DATABASE) from None
    except BaseException:
        db.dispose()
        raise
    return db


def _final(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", None) or exc).lower()
    return any(word in text for word in _FINAL)


def describe(url: str, exc: BaseException) -> StartError:
    """One line for a failure to open ``url``: what failed and what to change."""
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        reason = getattr(exc, "strerror", None) or str(getattr(exc, "orig", None) or exc)
        return StartError(f"cannot open the SQLite database {path}: {reason.strip()}; make "
                          f"{path.parent} a folder this user can write, or change "
                          "database.url", EXIT_PATH)
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    detail = detail.removeprefix("connection failed: ")
    if "resolve host" in detail or "translate host name" in detail:
        fix = f"the host {parsed.host!r} does not resolve; check database.url"
    elif any(word in detail.lower() for word in ("authentication", "password", "role",
                                                   "pg_hba")):
        fix = "the server refused the login; check the user and password in database.url"
    elif "does not exist" in detail:
        fix = "create the database (createdb) or fix its name in database.url"
    else:
        fix = "check that PostgreSQL runs and database.url names its host and port"
    return StartError(f"cannot use the database {shown}: {detail}; {fix}", EXIT_DATABASE)
