"""The ingest hook is the one place that counts what reached the ingestor, under the ingest
names and, for the chat adapter's path, the chat names too."""

from __future__ import annotations

from bot.rest import metrics as chat_metrics
from bot.service.metrics_http import ServiceMetrics, accept_observer
from rules.command import MessageCommand
from rules.ingest import CHAT_COMMAND, STORED, Accepted


def _value(metrics: ServiceMetrics, name: str, path: str) -> float:
    return metrics.registry.get_sample_value(name, {"path": path}) or 0.0


def test_one_hook_counts_both_names_once_each() -> None:
    metrics = ServiceMetrics()
    observe = accept_observer(metrics)
    made = chat_metrics.counter_value(chat_metrics.COMMANDS_MADE, path="realtime")
    dropped = chat_metrics.counter_value(chat_metrics.DUPLICATES_DROPPED, path="realtime")
    dropped_web = chat_metrics.counter_value(chat_metrics.DUPLICATES_DROPPED, path="webhook")
    command = MessageCommand(entity="rocket.chat")
    observe(Accepted(command), "realtime", 0.01)
    observe(Accepted(command, duplicate=True), "realtime", 0.01)
    observe(Accepted(command), "webhook", 0.01)  # not the chat adapter's: ingest names only
    observe(Accepted(None, duplicate=True, kind=CHAT_COMMAND), "webhook", 0.01)
    observe(Accepted(None, processed=True, kind=CHAT_COMMAND), "realtime", 0.01)
    observe(Accepted(None, processed=True, kind=STORED), "pending", 0.01)
    assert _value(metrics, "atsdbot_ingest_commands_total", "realtime") == 1
    assert _value(metrics, "atsdbot_ingest_duplicates_total", "realtime") == 1
    assert _value(metrics, "atsdbot_ingest_commands_total", "webhook") == 1
    assert _value(metrics, "atsdbot_ingest_commands_total", "pending") == 0
    assert chat_metrics.counter_value(chat_metrics.COMMANDS_MADE, path="realtime") == made + 1
    assert chat_metrics.counter_value(
        chat_metrics.DUPLICATES_DROPPED, path="realtime") == dropped + 1
    assert chat_metrics.counter_value(
        chat_metrics.DUPLICATES_DROPPED, path="webhook") == dropped_web + 1
