"""The realtime connection: an asyncio loop over ``websockets`` driving :mod:`protocol`.

One :class:`RealtimeClient` keeps one DDP session alive for as long as the service runs:

1. connect to ``ws(s)://HOST/websocket`` and do the DDP handshake;
2. log in: ``resume`` with the personal access token (preferred; 2FA-safe) or the sha-256
   digest of the password (then ``resume`` with the session token on later reconnects). Bad
   credentials and ``totp-required`` are a :class:`RealtimeFatal` (no retry). With a token the
   bot learns its own user name from REST ``me``;
3. subscribe ``stream-room-messages`` ``__my_messages__`` and ``stream-notify-user``
   ``<uid>/rooms-changed`` and ``<uid>/subscriptions-changed``, so new rooms are heard at once;
4. back-fill over REST everything since the last message handled per room
   (:mod:`bot.realtime.backfill`); live messages that arrive meanwhile are held and handled
   after it, so cursors only move forward;
5. hand each message to :class:`bot.chat.ChatListener` through the
   :class:`~bot.realtime.pipeline.MessagePipeline` (a worker thread, in order);
6. send a DDP ping after ``idle_ping`` seconds of silence and treat ``dead_after`` more
   seconds of silence as a dead connection; reconnect with exponential backoff and jitter.

The password never leaves :func:`protocol.password_params` (only its digest is sent) and is
never logged; tokens are never logged either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from bot import metrics
from bot.chat import ChatListener
from bot.config import RocketChatSettings
from bot.errors import ChatRejected, ChatUnavailable, ProtocolError
from bot.realtime import protocol as ddp
from bot.realtime.backfill import Backfiller
from bot.realtime.cursors import CursorBook
from bot.realtime.pipeline import MessagePipeline
from bot.realtime.status import RealtimeFatal, RealtimeStatus, login_failure
from bot.rest import RestClient
from rules.chatguard import BotIdentity
from rules.store import Database

log = logging.getLogger(__name__)

MY_MESSAGES = "__my_messages__"


@dataclass(frozen=True)
class RealtimeOptions:
    idle_ping: float = 10.0  # ping after this much silence (the server pings after 15 s)
    dead_after: float = 10.0  # no frame this long after our ping: the connection is dead
    call_timeout: float = 15.0  # handshake, login, subscription readiness
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    cursor_flush: float = 1.0
    drain_timeout: float = 5.0  # on stop: time to finish messages already received


class _Dropped(Exception):
    """The connection ended or went silent; reconnect."""


RestFactory = Callable[[str, str, str], RestClient]  # (url, user_id, token) -> client


class RealtimeClient:
    """Listens to Rocket.Chat over DDP and feeds every message to ``listener``."""

    def __init__(self, settings: RocketChatSettings, listener: ChatListener, db: Database,
                 *, options: RealtimeOptions | None = None,
                 rest_factory: RestFactory | None = None) -> None:
        self.settings = settings
        self.listener = listener
        self.options = options or RealtimeOptions()
        self.status = RealtimeStatus()
        self.cursors = CursorBook(db, listener.clock)
        self.rest: RestClient | None = None
        self._rest_factory = rest_factory or (lambda url, uid, tok: RestClient.with_token(
            url, uid, tok))
        self._session_token: str | None = None  # from a password login, for later resumes
        self._stopping = False
        self._stop = asyncio.Event()
        self.pipeline = MessagePipeline(listener, self.cursors,
                                        flush_every=self.options.cursor_flush)
        self.pipeline.on_failure = self._restart_session
        self._calls: dict[str, asyncio.Future[ddp.Result]] = {}
        self._subs: dict[str, asyncio.Future[ddp.Ready | ddp.NoSub]] = {}
        self._connected: asyncio.Future[ddp.Connected] | None = None
        self._ddp_version: str | None = None
        self._ws: ClientConnection | None = None  # the current connection, if any

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

    # -- the outer loop -------------------------------------------------------------------

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
                except (_Dropped, OSError, ConnectionClosed, InvalidHandshake, ProtocolError,
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
        # Exponential with "equal jitter": half the delay fixed, half random, so that many
        # bots dropped by one server restart do not come back at the same instant.
        delay = min(self.options.backoff_max, self.options.backoff_initial * 2 ** failures)
        delay = delay / 2 + random.uniform(0, delay / 2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)

    # -- one session ----------------------------------------------------------------------

    async def _session(self) -> None:
        try:
            ws = await connect(self.ws_url, ping_interval=None, max_size=2**24,
                               open_timeout=self.options.call_timeout)
        except InvalidURI as exc:
            raise RealtimeFatal(f"rocketchat.url gives an invalid websocket URL: {exc}") from None
        # Meteor closes the socket after ``failed``: the version it proposed is used next time.
        proto = ddp.DdpProtocol(version=self._ddp_version)
        self._ws = ws
        async with ws:
            reader = asyncio.create_task(self._reader(ws, proto), name="realtime-reader")
            try:
                await self._start(ws, proto, reader)
                done = await self._until_stopped(reader)
            finally:
                reader.cancel()
                # collected here: its exception (if any) is what ended the session
                await asyncio.gather(reader, return_exceptions=True)
                self._ws = None
            if not done:
                raise _Dropped("the connection closed")

    async def _until_stopped(self, reader: asyncio.Task[None]) -> bool:
        stopper = asyncio.create_task(self._stop.wait())
        finished, _ = await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if reader in finished and reader.exception() is not None:
            raise reader.exception()  # type: ignore[misc]
        return stopper in finished

    async def _start(self, ws: ClientConnection, proto: ddp.DdpProtocol,
                     reader: asyncio.Task[None]) -> None:
        connected = asyncio.get_running_loop().create_future()
        self._connected = connected
        proto.connect()
        await self._flush(ws, proto)
        await self._wait(connected, reader)
        self.status.connected = True
        uid = await self._login(ws, proto, reader)
        self.pipeline.hold()  # live messages wait for the back-fill
        await self._subscribe(ws, proto, reader, uid)
        self.status.sessions += 1
        if self.status.sessions > 1:
            self.status.reconnects += 1
            metrics.RECONNECTS.inc()
        metrics.REALTIME_CONNECTED.set(1)
        await self._backfill()

    async def _wait(self, future: asyncio.Future[Any], reader: asyncio.Task[None]) -> Any:
        """Wait for ``future`` but fail at once if the reader dies (connection dropped)."""
        done, _ = await asyncio.wait({future, reader}, timeout=self.options.call_timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if future in done:
            return future.result()
        if reader in done:
            exc = reader.exception()
            raise exc if exc is not None else _Dropped("the connection closed")
        raise _Dropped("the server did not answer in time")

    async def _call(self, ws: ClientConnection, proto: ddp.DdpProtocol,
                    reader: asyncio.Task[None], method: str, params: list[Any]) -> ddp.Result:
        call_id = proto.call(method, params)
        future: asyncio.Future[ddp.Result] = asyncio.get_running_loop().create_future()
        self._calls[call_id] = future
        await self._flush(ws, proto)
        result: ddp.Result = await self._wait(future, reader)
        return result

    async def _login(self, ws: ClientConnection, proto: ddp.DdpProtocol,
                     reader: asyncio.Task[None]) -> str:
        s = self.settings
        token = s.token or self._session_token
        result = None
        if token:
            result = await self._call(ws, proto, reader, "login", ddp.resume_params(token))
            if result.error is not None and not s.token and s.user and s.password:
                self._session_token = None  # the session token expired: log in afresh
                result = None
        if result is None:
            assert s.user and s.password
            result = await self._call(ws, proto, reader, "login",
                                      ddp.password_params(s.user, s.password))
        if result.error is not None:
            fatal = login_failure(result.error, "token" if s.token else "password")
            raise fatal or _Dropped(f"login failed: {result.error.error} "
                                    f"{result.error.reason}")
        uid = str(result.result.get("id"))
        login_token = s.token or str(result.result.get("token"))
        if not s.token:
            self._session_token = login_token
        self.status.logged_in = True
        await self._learn_identity(uid, login_token)
        return uid

    async def _learn_identity(self, uid: str, token: str) -> None:
        rest = self._rest_factory(self.settings.url, uid, token)
        try:
            me = await asyncio.to_thread(rest.me)
        except ChatRejected as exc:
            raise RealtimeFatal(f"REST refused the bot's token: {exc}") from None
        username = str(me.get("username") or self.settings.user or "")
        self.rest = rest
        self.listener.bot = BotIdentity(user_id=uid, username=username or None)
        self.status.user_id, self.status.username = uid, username
        log.info("realtime: logged in as %s (%s)", username, uid)

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
            self._subs[sub_id] = future
            futures.append((name, params[0], future))
        await self._flush(ws, proto)
        for name, key, future in futures:
            answer = await self._wait(future, reader)
            if isinstance(answer, ddp.NoSub):
                reason = answer.error.reason if answer.error else "no reason given"
                raise _Dropped(f"subscription {name} {key} refused: {reason}")
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

    # -- frames in ------------------------------------------------------------------------

    async def _reader(self, ws: ClientConnection, proto: ddp.DdpProtocol) -> None:
        pinged = False
        while True:
            try:
                wait = self.options.dead_after if pinged else self.options.idle_ping
                async with asyncio.timeout(wait):  # cheaper than wait_for: no extra task
                    frame = await ws.recv()
            except TimeoutError:
                if pinged:
                    raise _Dropped(f"no answer from the server for "
                                   f"{self.options.idle_ping + self.options.dead_after:g} s"
                                   ) from None
                proto.ping()
                await self._flush(ws, proto)
                pinged = True
                continue
            pinged = False
            self.status.touch(self.listener.clock.now())
            for event in proto.receive(frame):
                self._dispatch(event)
            await self._flush(ws, proto)  # pongs

    def _dispatch(self, event: ddp.Event) -> None:
        if isinstance(event, ddp.StreamEvent):
            self._on_stream(event)
        elif isinstance(event, ddp.Result):
            future = self._calls.pop(event.id, None)
            if future is not None and not future.done():
                future.set_result(event)
        elif isinstance(event, ddp.Ready):
            for sub_id in event.subs:
                self._resolve_sub(sub_id, event)
        elif isinstance(event, ddp.NoSub):
            self._resolve_sub(event.id, event)
            if event.name == "stream-room-messages":
                self.status.subscribed = False
        elif isinstance(event, ddp.Connected):
            if self._connected is not None and not self._connected.done():
                self._connected.set_result(event)
        elif isinstance(event, ddp.Failed):
            if event.version not in ddp.DDP_VERSIONS:
                raise ProtocolError(f"the server wants DDP version {event.version!r}")
            self._ddp_version = event.version
        elif isinstance(event, ddp.ServerError):
            log.warning("realtime: the server reports an error: %s", event.reason)

    def _resolve_sub(self, sub_id: str, event: ddp.Ready | ddp.NoSub) -> None:
        future = self._subs.pop(sub_id, None)
        if future is not None and not future.done():
            future.set_result(event)

    def _on_stream(self, event: ddp.StreamEvent) -> None:
        if event.collection == "stream-room-messages" and event.args:
            meta = event.args[1] if len(event.args) > 1 and isinstance(event.args[1], dict) \
                else None
            self.pipeline.live(event.args[0], meta)
        elif event.collection == "stream-notify-user":
            self.listener.rooms.apply_user_event(event.event_name, event.args)

    # -- frames out -----------------------------------------------------------------------

    async def _flush(self, ws: ClientConnection, proto: ddp.DdpProtocol) -> None:
        for frame in proto.outgoing():
            await ws.send(frame)

    def _fail_pending(self) -> None:
        futures: list[asyncio.Future[Any]] = [*self._calls.values(), *self._subs.values()]
        for future in futures:
            if not future.done():
                future.cancel()
        self._calls.clear()
        self._subs.clear()
        self.pipeline.release()  # live messages held for a back-fill that did not happen
