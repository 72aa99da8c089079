"""Failures a user can cause end with one line, a documented exit code and no traceback."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from rules.store import Database
from rules.store.tables.base import schema_version
from tests.conftest import postgres_available
from tests.operations.conftest import Run


def _config(tmp_path: Path, *, db: str | None = None, extra: str = "",
            users: bool = True) -> Path:
    (tmp_path / "rules.d").mkdir(exist_ok=True)
    url = db or f"sqlite:///{tmp_path / 'atsd.db'}"
    user = '[[users]]\nname = "ops"\npassword = "ops-pass-1"\nroles = ["admin"]\n' if users \
        else ""
    path = tmp_path / "atsd-bot.toml"
    path.write_text(f'[http]\nport = 0\n{extra}\n[database]\nurl = "{url}"\n{user}')
    return path


def _last_line(text: str) -> str:
    assert "Traceback" not in text, text
    return text.strip().splitlines()[-1]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_database_is_given_up_within_30_seconds(run: Run,
                                                               tmp_path: Path) -> None:
    url = f"postgresql+psycopg://atsd:pw@127.0.0.1:{_closed_port()}/atsd"
    started = time.monotonic()
    done = run("serve", "--config", str(_config(tmp_path, db=url)), timeout=60)
    assert time.monotonic() - started < 30
    assert done.returncode == 8, done.stderr
    line = _last_line(done.stderr)
    assert "cannot use the database postgresql+psycopg://atsd:***@127.0.0.1" in line
    assert "Connection refused" in line and "check that PostgreSQL runs" in line
    assert ":pw@" not in done.stderr


def test_a_database_that_refuses_the_login_is_exit_8_at_once(run: Run, tmp_path: Path) -> None:
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    url = "postgresql+psycopg://no_such_role@127.0.0.1:5432/test"
    started = time.monotonic()
    done = run("serve", "--config", str(_config(tmp_path, db=url)))
    assert time.monotonic() - started < 15
    assert done.returncode == 8
    assert "refused the login; check the user and password in database.url" in \
        _last_line(done.stderr)


def test_a_database_host_that_does_not_resolve_is_exit_8(run: Run, tmp_path: Path) -> None:
    url = "postgresql+psycopg://atsd@no-such-host.invalid/atsd"
    done = run("serve", "--config", str(_config(tmp_path, db=url)))
    assert done.returncode == 8
    assert "the host 'no-such-host.invalid' does not resolve" in _last_line(done.stderr)


def test_a_listen_host_that_does_not_resolve_is_exit_7(run: Run, tmp_path: Path) -> None:
    config = _config(tmp_path, extra='host = "no-such-host.invalid"')
    done = run("serve", "--config", str(config))
    assert done.returncode == 7
    assert _last_line(done.stderr).endswith(
        "cannot listen on no-such-host.invalid:0: the host 'no-such-host.invalid' does not "
        "resolve; set http.host to an address of this machine (127.0.0.1 behind a reverse "
        "proxy)")
    assert not (tmp_path / "atsd.db").exists()  # found before the store was opened


def test_a_database_path_that_cannot_be_written_is_exit_10(run: Run, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    done = run("serve", "--config", str(_config(tmp_path, db=f"sqlite:///{blocker}/atsd.db")))
    assert done.returncode == 10
    line = _last_line(done.stderr)
    assert f"cannot open the SQLite database {blocker / 'atsd.db'}" in line
    assert f"make {blocker} a folder this user can write, or change database.url" in line


def test_a_schema_newer_than_the_code_refuses_to_start(run: Run, tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'atsd.db'}")
    db.create_schema()
    with db.begin() as conn:
        conn.execute(update(schema_version).values(version=99))
    db.dispose()
    done = run("serve", "--config", str(_config(tmp_path)))
    assert done.returncode == 8
    assert "schema version 99 is newer than this atsd-bot's" in _last_line(done.stderr)


def test_a_configuration_error_names_the_variable(run: Run, tmp_path: Path) -> None:
    done = run("serve", "--config", str(_config(tmp_path)), env={"ATSD_BOT_HTTP_PORT": "80x"})
    assert done.returncode == 2
    assert done.stderr.strip() == ("atsd-bot: configuration error: ATSD_BOT_HTTP_PORT "
                                   "(http.port): expected an integer, got '80x'")


def test_replay_without_a_configuration_creates_no_database(run: Run, tmp_path: Path) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text("rules:\n  - name: r\n    window: length(1)\n    condition: 'true'\n")
    done = run("rules", "test", str(rule), "--replay", "1h")
    assert done.returncode == 2, done.stderr
    assert "no stored messages" in done.stderr and "--config" in done.stderr
    assert not (tmp_path / "work" / "var").exists()


def test_a_missing_rules_folder_is_reported_as_missing(run: Run, tmp_path: Path) -> None:
    config = _config(tmp_path)
    config.write_text(config.read_text() + '[rules]\npaths = ["nowhere.d"]\n')
    done = run("rules", "validate", "--config", str(config))
    assert done.returncode == 1
    assert f"{tmp_path / 'nowhere.d'}: file or folder not found" in done.stderr
    assert "not a rule file" not in done.stderr


def test_serve_takes_the_file_from_atsd_bot_config(run: Run, tmp_path: Path) -> None:
    config = _config(tmp_path, extra='host = "no-such-host.invalid"')
    done = run("serve", env={"ATSD_BOT_CONFIG": str(config)})
    assert done.returncode == 7 and "no-such-host.invalid" in _last_line(done.stderr)
