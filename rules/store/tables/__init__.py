"""Every table of the store, on one shared ``MetaData``.

``base`` holds the messages, the request logs, the leases and the column types; ``engine`` the
rule engine's tables; ``conversation`` silences and the per-message explanations ``why``
reads; ``living`` the living alert messages; ``realtime`` the realtime client's cursors;
``service`` the service's own values (the generated web UI session key). Importing this
package registers all of them on ``metadata``.
"""

from rules.store.tables import conversation, engine, living, realtime, service
from rules.store.tables.base import Id, Time, metadata

__all__ = ["Id", "Time", "conversation", "engine", "living", "metadata", "realtime",
           "service"]
