"""``GET /metrics`` in the Prometheus text format, and the counters the service keeps itself.

Three kinds of figures:

- counted as they happen, here: HTTP requests and their latency (a WSGI middleware around the
  whole app), commands accepted and duplicates per inbound path and the latency of
  ``Ingestor.accept`` (:func:`accept_observer`, an ingest hook, which also counts the chat
  side's ``atsdbot_commands_made_total`` / ``atsdbot_duplicates_dropped_total`` for what
  reached the ingestor);
- read from the store at scrape time (:class:`StoreCollector`): open alerts by acknowledged
  flag, closed alerts by final status, notifications by result, outbox depth. Reading the store
  means every instance reports the same truth and a restart does not reset them;
- the realtime client's own registry (``bot.rest.metrics``: reconnects, messages in), appended
  when that module is present.

Every instance owns its registry, so tests may build as many services as they like.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Blueprint, Response, current_app
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection

from bot.rest import metrics as chat_metrics
from rules.ingest import CHAT_COMMAND, MESSAGE, Accepted, IngestHook
from rules.store import Database, reports

log = logging.getLogger(__name__)

EXTENSION = "atsd_metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

bp = Blueprint("metrics", __name__)

# (name, help, labels, query) triples that StoreCollector runs; set by whoever owns the table.
StoreQuery = Callable[[Connection], Iterable[tuple[tuple[str, ...], float]]]


class ServiceMetrics:
    """The registry and the metrics ``atsd-bot serve`` keeps for itself."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "atsdbot_http_requests", "HTTP requests answered, by route group and status code",
            ["route", "method", "status"], registry=self.registry)
        self.http_latency = Histogram(
            "atsdbot_http_request_seconds", "Time to answer an HTTP request, by route group",
            ["route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.commands = Counter(
            "atsdbot_ingest_commands",
            "Message commands stored and run, counted at the one entry point",
            ["path"], registry=self.registry)
        self.duplicates = Counter(
            "atsdbot_ingest_duplicates",
            "Rocket.Chat messages seen again and not processed, by path",
            ["path"], registry=self.registry)
        self.accept_latency = Histogram(
            "atsdbot_ingest_seconds", "Time to store a command and run it through the engine",
            ["path"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.extra_registries: list[CollectorRegistry] = []

    def add_store_collector(self, collector: StoreCollector) -> None:
        self.registry.register(collector)

    def render(self) -> bytes:
        parts = [generate_latest(self.registry)]
        parts += [generate_latest(extra) for extra in self.extra_registries]
        return b"".join(parts)


class StoreCollector(Collector):
    """Gauges read from the database on each scrape; a failing query is logged and skipped."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.queries: list[tuple[str, str, tuple[str, ...], StoreQuery]] = []

    def add(self, name: str, help_text: str, labels: tuple[str, ...], query: StoreQuery) -> None:
        self.queries.append((name, help_text, labels, query))

    def describe(self) -> Iterable[Metric]:
        return []  # values come from the store; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        if not self.queries:
            return
        try:
            with self.db.connect() as conn:
                for name, help_text, labels, query in self.queries:
                    family = GaugeMetricFamily(name, help_text, labels=list(labels))
                    try:
                        for values, number in query(conn):
                            family.add_metric(list(values), number)
                    except Exception as exc:  # one broken query must not hide the others
                        log.warning("metric %s: %s", name, exc)
                        conn.rollback()
                        continue
                    yield family
        except Exception as exc:
            log.warning("metrics: the store did not answer: %s", exc)


CHAT_PATHS = ("realtime",)  # message commands the chat adapter made (bot.chat.messages)


def accept_observer(metrics: ServiceMetrics) -> IngestHook:
    """An ingest hook: the one place that counts what reached the ingestor.

    Message commands and duplicates per path, and the time of each ``accept``
    (``atsdbot_ingest_*``); for the chat adapter's path the same events under the chat names
    too (``atsdbot_commands_made_total``, ``atsdbot_duplicates_dropped_total``), and a chat
    command answered before as a dropped duplicate (either path). The chat adapter counts only
    what never reaches the ingestor (messages in, ignored, copies it remembers)."""
    def observe(result: Accepted, path: str, seconds: float) -> None:
        if result.kind == CHAT_COMMAND:
            if result.duplicate:
                chat_metrics.DUPLICATES_DROPPED.labels(path=path).inc()
            return
        if result.kind != MESSAGE:
            return  # stored commands run later: counted when they were accepted
        metrics.accept_latency.labels(path).observe(seconds)
        if result.duplicate:
            metrics.duplicates.labels(path).inc()
            if path in CHAT_PATHS:
                chat_metrics.DUPLICATES_DROPPED.labels(path=path).inc()
        else:
            metrics.commands.labels(path).inc()
            if path in CHAT_PATHS:
                chat_metrics.COMMANDS_MADE.labels(path=path).inc()
    return observe


def engine_store_collector(db: Database) -> StoreCollector:
    """Alerts by status and notifications by result, from the engine's tables."""

    def open_alerts(conn: Connection) -> Iterable[tuple[tuple[str, ...], float]]:
        for status, count in reports.open_alert_counts(conn).items():
            yield (status,), float(count)

    def closed_alerts(conn: Connection) -> Iterable[tuple[tuple[str, ...], float]]:
        for reason, count in reports.closed_alert_counts(conn).items():
            yield (reason,), float(count)

    def notifications(conn: Connection) -> Iterable[tuple[tuple[str, ...], float]]:
        for (endpoint, status), count in reports.outbox_counts(conn).items():
            yield (endpoint, status), float(count)

    collector = StoreCollector(db)
    collector.add("atsdbot_alerts_open", "Open alerts, by acknowledged or not",
                  ("status",), open_alerts)
    collector.add("atsdbot_alerts_closed", "Closed alerts (history), by why they closed",
                  ("reason",), closed_alerts)
    collector.add("atsdbot_notifications_by_result",
                  "Notifications in the outbox, by endpoint and result "
                  "(pending, sending, delivered, failed, silenced, response, cancelled)",
                  ("endpoint", "result"), notifications)
    return collector


def route_group(path: str) -> str:
    """A small fixed set of label values, so a scanner cannot blow up the series count."""
    if path.startswith("/api/v1/messages/webhook"):
        return "webhook"
    for prefix, name in (("/api/", "api"), ("/ui", "ui"), ("/static", "static"),
                         ("/healthz", "healthz"), ("/metrics", "metrics")):
        if path.startswith(prefix):
            return name
    return "other"


class MetricsMiddleware:
    """WSGI middleware: counts every request and times it until the body is sent."""

    def __init__(self, app: Any, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self.in_flight = 0  # requests whose body is not sent yet (read by a graceful stop)
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        route = route_group(environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD", "GET")
        method = method if method in ("GET", "POST", "PUT", "DELETE", "HEAD") else "other"
        seen: dict[str, str] = {}

        def recording_start(status: str, headers: Any, exc_info: Any = None) -> Any:
            seen["status"] = status.split(" ", 1)[0]
            return start_response(status, headers, exc_info)

        with self._lock:
            self.in_flight += 1
        try:
            yield from self.app(environ, recording_start)
        finally:
            with self._lock:
                self.in_flight -= 1
            self.metrics.http_requests.labels(route, method, seen.get("status", "500")).inc()
            self.metrics.http_latency.labels(route).observe(time.perf_counter() - started)


def install(app: Any, metrics: ServiceMetrics) -> MetricsMiddleware:
    """Register ``/metrics`` and wrap the app so that every request is counted."""
    app.extensions[EXTENSION] = metrics
    if "metrics" not in app.blueprints:
        app.register_blueprint(bp)
    middleware = MetricsMiddleware(app.wsgi_app, metrics)
    app.wsgi_app = middleware
    return middleware


@bp.get("/metrics")
def metrics_view() -> Response:
    metrics: ServiceMetrics | None = current_app.extensions.get(EXTENSION)
    body = metrics.render() if metrics is not None else b""
    return Response(body, mimetype=None, content_type=CONTENT_TYPE)
