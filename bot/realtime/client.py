"""The realtime client: one DDP session kept alive, subscribed and back-filled.

One :class:`RealtimeClient` keeps one DDP session alive for as long as the service runs:

1. connect to ``ws(s)://HOST/websocket`` and do the DDP handshake, then log in
   (:mod:`bot.realtime.connection`: frames, calls, keep-alive, login and the bot's identity);
2. subscribe ``stream-room-messages`` ``__my_messages__`` and ``stream-notify-user``
   ``<uid>/rooms-changed`` and ``<uid>/subscriptions-changed``, so new rooms are heard at once;
3. back-fill over REST everything since the last message handled per room
   (:mod:`bot.realtime.backfill`); live messages that arrive meanwhile are held and handled
   after it, so cursors only move forward;
4. hand each message to :class:`bot.chat.messages.ChatListener` through the
   :class:`~bot.realtime.pipeline.MessagePipeline` (a worker thread, in order);
5. on a drop (closed socket, silence, refused subscription), reconnect with exponential
   backoff and jitter; bad credentials end :meth:`RealtimeClient.run` with
   :class:`RealtimeFatal`.

:class:`RealtimeOptions`, :class:`RealtimeFatal` and the rest of the names this module used to
define stay importable from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from bot.chat.messages import ChatListener
from bot.config import RocketChatSettings
from bot.errors import ChatUnavailable, ProtocolError
from bot.realtime import protocol as ddp
from bot.realtime.backfill import Backfiller
from bot.realtime.connection import DdpLink, Dropped, RealtimeOptions, RestFactory
from bot.realtime.cursors import CursorBook
from bot.realtime.pipeline import MessagePipeline
from bot.realtime.reconnect import ReconnectPolicy
from bot.realtime.status import RealtimeFatal, RealtimeStatus
from bot.rest import metrics
from bot.rest.client import RestClient
from rules.store import Database

__all__ = ["MY_MESSAGES", "RealtimeClient", "RealtimeFatal", "RealtimeOptions",
           "RealtimeStatus", "RestFactory"]

log = logging.getLogger(__name__)

MY_MESSAGES = "__my_messages__"
_Dropped = Dropped  # the name this module used before the split


class RealtimeClient:
    """Listens to Rocket.Chat over DDP and feeds every message to ``listener``."""

    def __init__(self, settings: RocketChatSettings, listener: ChatListener, db: Database,
                 *, options: RealtimeOptions | None = None,
                 rest_factory: RestFactory | None = None,
                 reconnect: ReconnectPolicy | None = None) -> None:
        self.settings = settings
        self.listener = listener
        self.options = options or RealtimeOptions()
        self.link = DdpLink(settings, listener, self.options, rest_factory,
                            on_stream=self._on_stream)
        self.reconnect = reconnect or ReconnectPolicy(self.options.backoff_initial,
                                                      self.options.backoff_max)
        self.cursors = CursorBook(db, listener.clock)
        self._stopping = False
        self._stop = asyncio.Event()
        self.pipeline = MessagePipeline(listener, self.cursors,
                                        flush_every=self.options.cursor_flush)
        self.pipeline.on_failure = self._restart_session
        self._ws: ClientConnection | None = None  # the current connection, if any

    @property
    def status(self) -> RealtimeStatus:
        return self.link.status

    @property
    def rest(self) -> RestClient | None:
        """The REST session of the last login (None before the first)."""
        return self.link.rest

    @property
    def ws_url(self) -> str:
        base = self.settings.url.rstrip("/")
        return ("wss://" + base[8:] if base.startswith("https://")
                else "ws://" + base.removeprefix("http://")) + "/websocket"

    def stop(self) -> None:
        """Ask :meth:`run` to finish (call it on the client's loop, e.g. call_soon_threadsafe)."""
        self._stopping = True
        self._stop.set()

    async def wait_idle(self) -> None:
        """Return once every message received so far has been handled (for tests, bench)."""
        await self.pipeline.join()

    async def _restart_session(self) -> None:
        """A message could not be handled: reconnect, so that a back-fill fetches it again."""
        if self._ws is not None:
            await self._ws.close(code=1011, reason="message handling failed")

    # -- the outer loop --------------------------------------------------------------------

    async def run(self) -> None:
        """Connect and listen until :meth:`stop`; raises :class:`RealtimeFatal` on bad login.

        May be called again after it returned, on the same or another event loop.
        """
        # asyncio primitives belong to the loop that first uses them: fresh ones per run
        self._stop = asyncio.Event()
        if self._stopping:  # stopped before it started
            self._stopping = False
            return
        await asyncio.to_thread(self.cursors.load)
        self.pipeline.start()
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    await self._session()
                    failures = 0
                except RealtimeFatal as exc:
                    self.status.last_error = str(exc)
                    log.error("realtime: %s", exc)
                    raise
                except (Dropped, OSError, ConnectionClosed, InvalidHandshake, ProtocolError,
                        ChatUnavailable, TimeoutError) as exc:
                    self.status.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning("realtime connection lost: %s", self.status.last_error)
                    failures = 0 if self.status.subscribed else failures + 1
                finally:
                    self.cursors.mark_gap()
                    self.status.down()
                    metrics.REALTIME_CONNECTED.set(0)
                    self._fail_pending()
                if not self._stop.is_set():
                    await self._backoff(failures)
        finally:
            # Messages already received are handled before stopping (bounded); then the
            # cursors are saved for the next start.
            await self.pipeline.stop(self.options.drain_timeout)
            self._stopping = False

    async def _backoff(self, failures: int) -> None:
        delay = self.reconnect.delay(failures)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)

    # -- one session -----------------------------------------------------------------------

    async def _session(self) -> None:
        try:
            ws = await connect(self.ws_url, ping_interval=None, max_size=2**24,
                               open_timeout=self.options.call_timeout)
        except InvalidURI as exc:
            raise RealtimeFatal(f"rocketchat.url gives an invalid websocket URL: {exc}") from None
        # Meteor closes the socket after ``failed``: the version it proposed is used next time.
        proto = ddp.DdpProtocol(version=self.link.ddp_version)
        self._ws = ws
        async with ws:
            reader = asyncio.create_task(self.link.reader(ws, proto), name="realtime-reader")
            try:
                await self._start(ws, proto, reader)
                done = await self._until_stopped(reader)
            finally:
                reader.cancel()
                # collected here: its exception (if any) is what ended the session
                await asyncio.gather(reader, return_exceptions=True)
                self._ws = None
            if not done:
                raise Dropped("the connection closed")

    async def _until_stopped(self, reader: asyncio.Task[None]) -> bool:
        stopper = asyncio.create_task(self._stop.wait())
        finished, _ = await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if reader in finished and reader.exception() is not None:
            raise reader.exception()  # type: ignore[misc]
        return stopper in finished

    async def _start(self, ws: ClientConnection, proto: ddp.DdpProtocol,
                     reader: asyncio.Task[None]) -> None:
        await self.link.handshake(ws, proto, reader)
        uid = await self.link.login(ws, proto, reader)
        self.pipeline.hold()  # live messages wait for the back-fill
        await self._subscribe(ws, proto, reader, uid)
        self.status.sessions += 1
        if self.status.sessions > 1:
            self.status.reconnects += 1
            metrics.RECONNECTS.inc()
        metrics.REALTIME_CONNECTED.set(1)
        await self._backfill()

    async def _subscribe(self, ws: ClientConnection, proto: ddp.DdpProtocol,
                         reader: asyncio.Task[None], uid: str) -> None:
        wanted: list[tuple[str, list[Any]]] = [
            ("stream-room-messages", [MY_MESSAGES, {"useCollection": False, "args": []}]),
            ("stream-notify-user", [f"{uid}/rooms-changed", False]),
            ("stream-notify-user", [f"{uid}/subscriptions-changed", False])]
        futures = []
        for name, params in wanted:
            sub_id = proto.subscribe(name, params)
            future: asyncio.Future[ddp.Ready | ddp.NoSub] = (
                asyncio.get_running_loop().create_future())
            self.link.subs[sub_id] = future
            futures.append((name, params[0], future))
        await self.link.flush(ws, proto)
        for name, key, future in futures:
            answer = await self.link.wait(future, reader)
            if isinstance(answer, ddp.NoSub):
                reason = answer.error.reason if answer.error else "no reason given"
                raise Dropped(f"subscription {name} {key} refused: {reason}")
        self.status.subscribed = True

    async def _backfill(self) -> None:
        rest = self.rest
        assert rest is not None
        backfiller = Backfiller(rest, self.listener.rooms, self.cursors)
        batch = await asyncio.to_thread(backfiller.collect)
        self.cursors.clear_gap()
        if batch:
            log.info("realtime: back-filling %d message(s)", len(batch))
        self.pipeline.release(batch)

    # -- stream events ---------------------------------------------------------------------

    def _on_stream(self, event: ddp.StreamEvent) -> None:
        if event.collection == "stream-room-messages" and event.args:
            meta = event.args[1] if len(event.args) > 1 and isinstance(event.args[1], dict) \
                else None
            self.pipeline.live(event.args[0], meta)
        elif event.collection == "stream-notify-user":
            self.listener.rooms.apply_user_event(event.event_name, event.args)

    def _fail_pending(self) -> None:
        self.link.cancel_pending()
        self.pipeline.release()  # live messages held for a back-fill that did not happen
