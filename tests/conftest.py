"""Shared fixtures: a store on SQLite always and on PostgreSQL when 127.0.0.1:5432 answers."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from rules.store import Database

pytest_plugins = ["tests.rocketchat_server.pytest_plugin"]

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FIXTURES = Path(__file__).parent / "fixtures"


def postgres_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


def _fresh_postgres_url() -> Iterator[str]:
    """A throw-away database, so that parallel test runs never see each other's rows."""
    name = f"atsd_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    yield from _fresh_postgres_url()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated store; parametrised over SQLite and (when reachable) PostgreSQL."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'atsd.db'}")
        database.create_schema()
        yield database
        database.dispose()
        return
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    for url in _fresh_postgres_url():
        database = Database(url)
        database.create_schema()
        yield database
        database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'atsd.db'}")
    database.create_schema()
    yield database
    database.dispose()
