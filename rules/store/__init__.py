"""Storage on SQLAlchemy Core: SQLite (WAL) by default, PostgreSQL by URL.

``db.Database`` opens a URL and creates or upgrades the schema; ``schema`` holds every table;
the other modules hold the queries, one module per kind of record.
"""

from rules.store.db import Database

__all__ = ["Database"]
