"""Every table of the store, on one shared ``MetaData``.

``base`` holds the messages, the request logs, the leases and the column types; ``engine`` the
rule engine's tables; ``living`` the living alert messages; ``realtime`` the realtime client's
cursors. Importing this package registers all of them on ``metadata``.
"""

from rules.store.tables import engine, living, realtime
from rules.store.tables.base import Id, Time, metadata

__all__ = ["Id", "Time", "engine", "living", "metadata", "realtime"]
