"""The one entry point for every inbound message: store it, then run it through the engine.

:class:`~rules.ingest.ingestor.Ingestor` accepts commands (group commit, batches, the
once-only key of a chat command); :mod:`~rules.ingest.accepted` holds what it answers and the
hook type; :mod:`~rules.ingest.batch` one thread's commands in one transaction.
"""

from rules.ingest.accepted import (
    CHAT_COMMAND,
    MESSAGE,
    STORED,
    Accepted,
    CommandEngine,
    IngestHook,
    wake_on_notifications,
)
from rules.ingest.batch import IngestBatch
from rules.ingest.ingestor import Ingestor

__all__ = ["CHAT_COMMAND", "MESSAGE", "STORED", "Accepted", "CommandEngine", "IngestBatch",
           "IngestHook", "Ingestor", "wake_on_notifications"]
