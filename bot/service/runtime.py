"""The running service: builds every part from settings, starts them in order, stops them.

:class:`Runtime` is what ``atsd-bot serve`` (bot/cli/serve.py) runs and what tests start in a
thread (``start()`` returns once the HTTP server listens; ``stop()`` is bounded).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.config import Settings
from bot.config.sections import room_budget
from bot.errors import ConfigError, StartCancelled
from bot.exit_codes import EXIT_LEASE_LOST, EXIT_OK
from bot.service import lease
from bot.service.health import HealthState
from bot.service.http_server import HttpServer
from bot.service.metrics_http import ServiceMetrics, accept_observer, engine_store_collector
from bot.service.metrics_http import install as install_metrics
from bot.service.reload import plan as reload_plan
from bot.service.retention import DailyPrune
from bot.service.store_open import open_store
from rules.clock import Clock, SystemClock
from rules.definitions.rule_set import RuleSet
from rules.engine.rule_engine import RuleEngine
from rules.engine.schedule import EngineScheduler
from rules.ingest import Ingestor, wake_on_notifications
from rules.living import RoomBudget
from rules.notification import Endpoint
from rules.outbox import OutboxSender, SenderLoop
from rules.outbox.endpoints import build_endpoints, endpoint_targets
from rules.store import Database, reports
from rules.store.service_values import UI_SECRET_KEY, kept_value

log = logging.getLogger(__name__)

DRAIN_SECONDS = 5.0
# serve gives up on a Rocket.Chat that does not answer (or take the bot's login) this long
# after the runtime's start began, with exit code 4: within 30 s of the process's start, its
# imports and configuration included. A later outage is the realtime client's to ride out.
CHAT_START_SECONDS = 28.0
STOP_JOIN_SECONDS = 2.0


class Runtime:
    chat_start_seconds = CHAT_START_SECONDS  # tests set a shorter one on their instance

    def __init__(self, settings: Settings, *, clock: Clock | None = None,
                 ui_secret: str | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.metrics = ServiceMetrics()
        self.health = HealthState()
        # [http] secret_key, else this (tests), else a key kept in the database (see start)
        self.ui_secret = settings.http.secret_key or ui_secret or ""
        self.db: Database | None = None
        self.engine: RuleEngine | None = None
        self.ruleset: RuleSet | None = None
        self.ingestor: Ingestor | None = None
        self.sender: OutboxSender | None = None
        self.sender_loop: SenderLoop | None = None
        self.scheduler: EngineScheduler | None = None
        self.server: Any = None
        self.middleware: Any = None  # the metrics middleware, once HTTP is built
        self.realtime: Any = None
        self.chat: Any = None  # bot.realtime.wiring.RealtimeBot when [rocketchat] is set
        self.lease: Any = None  # bot.service.lease.LeaseKeeper on PostgreSQL
        self.ctx: Any = None  # webhook.AppContext, once HTTP is built
        self.ui: Any = None  # webhook.ui.UiServices, once HTTP is built
        self.app: Any = None
        self.pruner: DailyPrune | None = None  # [retention], where the engine runs
        # called with the settings after a reload (the log redactor learns new secrets)
        self.on_settings: list[Callable[[Settings], None]] = []
        self._reloading = threading.Lock()  # one SIGHUP reload at a time
        # called with an exit code when the service must stop on its own (lease lost)
        self.on_fatal: Callable[[int], None] | None = None
        self.base_url = ""
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False
        self._began = 0.0  # time.monotonic() when start() began: the chat give-up counts from it
        # set by a stop signal during start(): the waits for the database and Rocket.Chat end
        self._start_cancelled = threading.Event()

    # -- start --------------------------------------------------------------------------

    def start(self) -> None:
        s = self.settings
        self._began = time.monotonic()
        # StartError: one line and an exit code
        self.db = db = open_store(s.database, sleep=self._wait_at_start)
        self.health.db = db
        if not self.ui_secret:  # kept, so a restart or another instance keeps UI sessions
            self.ui_secret = kept_value(db, UI_SECRET_KEY, lambda: secrets.token_urlsafe(32))
        self.engine = engine = RuleEngine(db, self.clock, endpoints=s.endpoints.keys(),
                                          default_endpoint_targets=endpoint_targets(s.endpoints))
        if s.rocketchat is not None:
            engine.stories.budget = RoomBudget(*room_budget(s.rocketchat.room_budget))
        self.ruleset = RuleSet.from_settings(s, engine)
        result = self.ruleset.reload()
        engine.restore()
        log.info("rules: %d in force from %s", len(result.rules), ", ".join(s.rules.paths))
        self.ingestor = ingestor = Ingestor(db, engine, self.clock,
                                            hooks=[accept_observer(self.metrics)])
        if lease.uses_lease(s, db):
            # store only until the lease is ours: HTTP starts before the lease is tried, and a
            # request in between must not run the engine beside the holder (or overtake the
            # commands waiting for it)
            ingestor.runs_engine = False
        if s.rocketchat is not None:
            from bot.realtime.wiring import build_realtime_bot

            self.chat = build_realtime_bot(s.rocketchat, ingestor, engine=engine,
                                           clock=self.clock, public_url=s.http.public_url)
        self.sender = OutboxSender(db, self._endpoints(), self.clock, s.delivery)
        self.sender_loop = SenderLoop(self.sender)
        ingestor.hooks.append(wake_on_notifications(self.sender_loop.wake))
        if self.chat is not None and self.chat.commands is not None:
            self.chat.commands.kit.public_url = getattr(s.http, "public_url", None)
        self.health.outbox_status = self._outbox_status
        self.scheduler = EngineScheduler(
            engine, self.clock, wake=self.sender_loop.wake, also=[ingestor.process_pending],
            inject=lambda command: ingestor.accept(command, path="timer", persist=False))
        self._start_http()
        if s.rocketchat is not None:
            self._probe_chat()
            # until this instance starts the realtime client (it may never: a follower)
            self.health.realtime_status = (
                (lambda: {"configured": True, "active": False,
                          "reason": "another instance holds the lease"})
                if s.rocketchat.realtime else
                (lambda: {"configured": False, "reason": "rocketchat.realtime = false"}))
        if lease.uses_lease(s, db):
            self._follow_lease()
        else:
            self._lead(None)
        # What start built (modules, rules, engine, pools) lives as long as the process: out
        # of the cyclic collector's way, so that a full collection (~70 ms over it) does not
        # stall a chat reply (docs/performance.md).
        gc.freeze()

    def _ingestor(self) -> Ingestor:
        assert self.ingestor is not None, "Runtime.start() builds the ingestor"
        return self.ingestor

    def _follow_lease(self) -> None:
        """PostgreSQL may be shared by several instances: only the holder of the database
        lease runs the engine, the scheduler and the realtime client; the others store what
        they receive and the holder processes it (``process_pending``, every second)."""
        assert self.db is not None
        keeper = lease.make_keeper(self.db, self.settings, self.clock,
                                       on_acquired=self._lead, on_lost=self._lost_lease)
        self.lease = keeper
        self._ingestor().runs_engine = False
        self._ingestor().fence = lease.fence_for(keeper)
        if not keeper.step():
            log.info("lease: held by another instance; this one stores what it receives "
                     "and takes over when the holder stops")
        keeper.start()

    def _lead(self, epoch: int | None) -> None:
        """This instance runs the engine, the scheduler and the realtime client from now."""
        assert self.engine is not None and self.scheduler is not None
        if epoch is not None:
            self.engine.restore()  # another holder may have changed windows meanwhile
            log.info("lease: this instance now runs the engine (epoch %d)", epoch)
        self._ingestor().runs_engine = True
        assert self.db is not None and self.sender is not None
        lease.release_orphan_claims(self.db, self.sender.instance)
        if epoch is not None:
            # what the other instances stored meanwhile, at once rather than at the first tick
            self._thread("pending", self._ingestor().process_pending)
        self.scheduler.start()
        assert self.sender_loop is not None
        self.sender_loop.start()
        log.info("scheduler: engine ticks and timer commands every second; the outbox "
                 "sender delivers at once after each commit and retries every second")
        self.pruner = DailyPrune(self.db, self.clock, lambda: self.settings.retention)
        self.pruner.start()
        rc = self.settings.rocketchat
        if rc is not None and rc.realtime:
            self._start_realtime()
        elif rc is not None:
            log.info("realtime: off (rocketchat.realtime = false); replies go out over REST")

    def _lost_lease(self) -> None:
        # Engine work stops at once (the fence fails inside every transaction). Rather than
        # tear down and rebuild the realtime client and scheduler in place, the process
        # exits so that its supervisor restarts it as a follower.
        self._ingestor().runs_engine = False
        log.error("lease: lost to another instance; stopping (exit code %d) so that this "
                  "instance restarts as a follower", EXIT_LEASE_LOST)
        if self.on_fatal is not None:
            self.on_fatal(EXIT_LEASE_LOST)

    def _endpoints(self) -> dict[str, Endpoint]:
        endpoints = build_endpoints(self.settings.endpoints)
        if self.chat is not None:
            from bot.rest.endpoint import RocketChatEndpoint

            chat = self.chat
            for name, spec in self.settings.endpoints.items():
                if spec.kind == "rocketchat":
                    endpoints[name] = (chat.endpoint if name == "rocketchat" and not spec.room
                                       else RocketChatEndpoint(lambda: chat.endpoint.rest, name,
                                                               default_room=spec.room,
                                                               living=chat.endpoint.living))
        log.info("outbox endpoints: %s", ", ".join(sorted(endpoints)))
        return endpoints

    def _start_http(self) -> None:
        from bot.service.ui_wiring import build_ui_services
        from webhook import AppContext, create_app
        from webhook.api import conversation_api, rules_api
        from webhook.ui import install as install_ui

        assert self.db is not None and self.engine is not None and self.ruleset is not None
        self.ctx = ctx = AppContext(settings=self.settings, db=self.db,
                                    ingestor=self._ingestor(), clock=self.clock,
                                    engine=self.engine, ruleset=self.ruleset,
                                    health=self.health.report)
        if self.chat is not None:
            chat = self.chat
            # the realtime login learns the bot's name and id; the webhook's loop guard
            # must recognise the same bot
            ctx.bot_identity = lambda: chat.listener.bot
            from bot.chat.edits import webhook_edit_stamp

            # an edit's once-only key as the realtime path makes it (editedAt from REST)
            ctx.edit_stamp = webhook_edit_stamp(lambda: chat.endpoint.rest)
            # chat commands on the webhook path: the same desk as the realtime path's
            ctx.chat_commands = chat.commands
        app = create_app(ctx, [rules_api, conversation_api])
        self.ui = build_ui_services(
            self.settings, self.db, ctx, engine=self.engine, ruleset=self.ruleset,
            sender=self.sender, authenticator=ctx.authenticator, health=self.health.report,
            runs_engine=lambda: self._ingestor().runs_engine,
        )
        install_ui(app, self.ui, secret_key=self.ui_secret)
        self.metrics.add_store_collector(engine_store_collector(self.db))
        from bot.rest import metrics as realtime_metrics

        self.metrics.extra_registries.append(realtime_metrics.REGISTRY)
        self.middleware = install_metrics(app, self.metrics)
        self.app = app
        http = self.settings.http
        middleware = self.middleware
        self.server = HttpServer(app, http, in_flight=lambda: middleware.in_flight,
                                 join_seconds=STOP_JOIN_SECONDS)
        self.base_url = self.server.base_url
        self.server.start()
        self.health.mark_webhook_ready(self.base_url)
        log.info("http: webhook %s/api/v1/messages/webhook/..., web UI %s/ui/, %s/healthz, "
                 "%s/metrics (waitress, %d threads)", self.base_url, self.base_url,
                 self.base_url, self.base_url, http.threads)

    def _probe_chat(self) -> None:
        """Rocket.Chat must answer and take the bot's login before the start goes on:
        ``StartError`` (exit 4) when it does not within ``chat_start_seconds`` of the start,
        ``ChatRejected`` (exit 3) at once when it refuses the bot (bot/rest/probe.py)."""
        from bot.rest.probe import probe_at_start

        rc = self.settings.rocketchat
        assert rc is not None
        report = probe_at_start(rc, self._began + self.chat_start_seconds,
                                sleep=self._wait_at_start)
        for number, line in enumerate(report.lines()):
            (log.info if number == 0 else log.warning)("%s", line)

    def cancel_start(self) -> None:
        """A stop signal during :meth:`start`: its waits for the database or Rocket.Chat end
        with :class:`StartCancelled` instead of running to their give-up time."""
        self._start_cancelled.set()

    def _wait_at_start(self, seconds: float) -> None:
        if self._start_cancelled.wait(seconds):
            raise StartCancelled("stopped before the start finished", EXIT_OK)

    def _start_realtime(self) -> None:
        rc = self.settings.rocketchat
        assert rc is not None and self.chat is not None
        self.realtime = self.chat.client
        self.health.realtime_status = self.chat.status.as_dict
        self._thread("realtime", self._run_realtime)
        log.info("realtime: listening to %s/websocket", rc.url)

    def _run_realtime(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.realtime.run())
        except Exception as exc:  # a fatal login error: the webhook path keeps working
            log.error("realtime client stopped: %s", exc)
            self.realtime.status.last_error = str(exc)
        finally:
            loop.close()

    def _thread(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- operations ---------------------------------------------------------------------

    def reload_rules(self) -> None:
        if self.ruleset is not None:
            log.info("reloading rules (SIGHUP)")
            self.ruleset.reload()

    def reload(self, load: Callable[[], Settings]) -> bool:
        """``SIGHUP``: read the configuration again and apply what may change while running
        (bot/service/reload.py); a configuration that does not load changes nothing."""
        with self._reloading:
            log.info("reloading the configuration (SIGHUP)")
            running = self.settings
            try:
                change = reload_plan(running, load())
                self._use_settings(change.effective)
            except Exception as exc:
                self._use_settings(running)
                text = str(exc) if isinstance(exc, ConfigError) \
                    else f"{type(exc).__name__}: {exc}"
                log.error("configuration not reloaded, the running one stays in force: %s",
                          text)
                return False
            change.log()
            self.reload_rules()
            return True

    def _use_settings(self, s: Settings) -> None:
        """Hand ``s`` to every part that reads settings while running."""
        self.settings = s
        if self.ctx is not None:
            self.ctx.use_settings(s)
        if self.ui is not None:
            self.ui.settings = s
        if self.engine is not None:
            self.engine.endpoint_names = frozenset(s.endpoints)
            self.engine.targets = endpoint_targets(s.endpoints)
        if self.sender is not None:
            self.sender.endpoints = self._endpoints()
        if self.chat is not None and s.rocketchat is not None:
            self.chat.listener.settings = s.rocketchat
            self.chat.endpoint.living.public_url = s.http.public_url
            if self.chat.commands is not None:
                self.chat.commands.kit.public_url = s.http.public_url
            if self.engine is not None:
                self.engine.stories.budget = RoomBudget(*room_budget(s.rocketchat.room_budget))
            if self.chat.commands is not None:
                self.chat.commands.settings = s.rocketchat
        if self.ruleset is not None:
            self.ruleset.paths = tuple(s.rules.paths)
            self.ruleset.endpoints = frozenset(s.endpoints)
            self.ruleset.base_dir = s.base_dir
        for hook in self.on_settings:
            hook(s)

    def _outbox_status(self) -> dict[str, Any]:
        assert self.db is not None
        with self.db.connect() as conn:
            return reports.outbox_backlog(conn)

    # -- stop ---------------------------------------------------------------------------

    def stop(self, drain_seconds: float = DRAIN_SECONDS) -> None:
        """Stop taking work, drain the outbox for at most ``drain_seconds``, close the store."""
        if self._stopped:
            return
        self._stopped = True
        self.health.stopping = True
        # Only the engine runner sends (bot/service/lease.py): a follower leaves the outbox
        # alone.
        leading = bool(self.ingestor and self.ingestor.runs_engine)
        if self.realtime is not None and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended (fatal login)
                self._loop.call_soon_threadsafe(self.realtime.stop)
        # Each step on its own: one that fails must not keep the lease held, the outbox
        # undrained or the store open.
        if self.server is not None:
            _stop_step("the HTTP server", self.server.stop)
        if (scheduler := self.scheduler) is not None:
            _stop_step("the scheduler", lambda: scheduler.shutdown(wait=True))
        if (held := self.lease) is not None:  # a follower takes over at its next renewal
            _stop_step("the lease", lambda: held.stop(release=True))
        if self.sender_loop is not None:
            _stop_step("the sender", self.sender_loop.stop)
        if self.pruner is not None:
            _stop_step("the pruner", self.pruner.stop)
        if leading:
            self._drain(drain_seconds)
        for thread in self._threads:
            thread.join(STOP_JOIN_SECONDS)
        if self.db is not None:
            _stop_step("the store", self.db.dispose)

    def _drain(self, seconds: float) -> None:
        if self.sender is None or self.db is None:
            return
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                depth = self._outbox_status()["depth"]
                if depth == 0 or self.sender.run_once() == 0:
                    break
            except Exception as exc:
                log.warning("outbox drain stopped: %s", exc)
                break
        left = self._outbox_status()["depth"]
        if left:
            log.warning("%d notifications still pending; they go out at the next start", left)


def _stop_step(what: str, step: Callable[[], object]) -> None:
    """Run one step of the stop; log its failure with the traceback and go on."""
    try:
        step()
    except Exception:
        log.exception("stopping %s failed; the rest of the stop goes on", what)

