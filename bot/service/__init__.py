"""``atsd-bot serve``'s composition root: builds every part from the settings and runs it.

``runtime`` wires the store, engine, ingestor (with its hooks), sender loop, scheduler, HTTP
server and the Rocket.Chat side; ``lease`` decides which instance runs the engine;
``health``, ``metrics_http`` and ``log_setup`` are what operators watch; ``store_open`` opens
the store with one line per failure, ``reload`` says what a ``SIGHUP`` may change, and
``retention`` prunes daily.
"""

from bot.service.runtime import Runtime

__all__ = ["Runtime"]
