"""The DDP link under :class:`~bot.realtime.client.RealtimeClient`: frames, calls and login.

:class:`DdpLink` owns what one websocket session needs below the subscriptions:

- the DDP handshake (``connect``, and the version a ``failed`` frame asks for next time);
- method calls and subscription readiness as futures, answered by the reader task, which
  fails them at once when the connection drops instead of waiting for their timeout;
- the keep-alive: a DDP ping after ``idle_ping`` seconds of silence, and ``dead_after`` more
  seconds of silence is a dead connection (:class:`Dropped`);
- the login: ``resume`` with the personal access token (preferred; 2FA-safe) or the sha-256
  digest of the password (then ``resume`` with the session token on later reconnects). Bad
  credentials and ``totp-required`` are a :class:`RealtimeFatal` (no retry). The bot then
  learns its own user name from REST ``me``.

Stream events (room messages, room changes) go to :meth:`DdpLink._on_stream`, which the
client implements. The password never leaves :func:`protocol.password_params` (only its
digest is sent) and is never logged; tokens are never logged either.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection

from bot.chat.messages import ChatListener
from bot.config import RocketChatSettings
from bot.errors import ChatRejected, ChatUnavailable, ProtocolError
from bot.realtime import protocol as ddp
from bot.realtime.status import RealtimeFatal, RealtimeStatus, login_failure
from bot.rest.client import RestClient
from rules.message_keys import BotIdentity

log = logging.getLogger(__name__)

RestFactory = Callable[[str, str, str], RestClient]  # (url, user_id, token) -> client


@dataclass(frozen=True)
class RealtimeOptions:
    """Timings of the realtime client, in seconds (tests and the bench shorten them)."""

    idle_ping: float = 10.0  # ping after this much silence (the server pings after 15 s)
    dead_after: float = 10.0  # no frame this long after our ping: the connection is dead
    call_timeout: float = 15.0  # handshake, login, subscription readiness
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    cursor_flush: float = 1.0
    drain_timeout: float = 5.0  # on stop: time to finish messages already received


class Dropped(ChatUnavailable):
    """The connection ended or went silent; reconnect."""


class DdpLink:
    """One DDP connection's frames in and out, calls, handshake and login.

    The realtime client owns one and receives its stream events through ``on_stream``.
    """

    def __init__(self, settings: RocketChatSettings, listener: ChatListener,
                 options: RealtimeOptions, rest_factory: RestFactory | None,
                 on_stream: Callable[[ddp.StreamEvent], None]) -> None:
        self.settings = settings
        self.on_stream = on_stream
        self.listener = listener
        self.options = options
        self.status = RealtimeStatus()
        self.rest: RestClient | None = None
        self._rest_factory = rest_factory or (lambda url, uid, tok: RestClient.with_token(
            url, uid, tok))
        self._session_token: str | None = None  # from a password login, for later resumes
        self.calls: dict[str, asyncio.Future[ddp.Result]] = {}
        self.subs: dict[str, asyncio.Future[ddp.Ready | ddp.NoSub]] = {}
        self.connected: asyncio.Future[ddp.Connected] | None = None
        self.ddp_version: str | None = None  # proposed by the server's ``failed`` frame

    # -- handshake, calls and login --------------------------------------------------------

    async def handshake(self, ws: ClientConnection, proto: ddp.DdpProtocol,
                         reader: asyncio.Task[None]) -> None:
        connected = asyncio.get_running_loop().create_future()
        self.connected = connected
        proto.connect()
        await self.flush(ws, proto)
        await self.wait(connected, reader)
        self.status.connected = True

    async def wait(self, future: asyncio.Future[Any], reader: asyncio.Task[None]) -> Any:
        """Wait for ``future`` but fail at once if the reader dies (connection dropped)."""
        done, _ = await asyncio.wait({future, reader}, timeout=self.options.call_timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if future in done:
            return future.result()
        if reader in done:
            exc = reader.exception()
            raise exc if exc is not None else Dropped("the connection closed")
        raise Dropped("the server did not answer in time")

    async def call(self, ws: ClientConnection, proto: ddp.DdpProtocol,
                    reader: asyncio.Task[None], method: str, params: list[Any]) -> ddp.Result:
        call_id = proto.call(method, params)
        future: asyncio.Future[ddp.Result] = asyncio.get_running_loop().create_future()
        self.calls[call_id] = future
        await self.flush(ws, proto)
        result: ddp.Result = await self.wait(future, reader)
        return result

    async def login(self, ws: ClientConnection, proto: ddp.DdpProtocol,
                     reader: asyncio.Task[None]) -> str:
        s = self.settings
        token = s.token or self._session_token
        result = None
        if token:
            result = await self.call(ws, proto, reader, "login", ddp.resume_params(token))
            if result.error is not None and not s.token and s.user and s.password:
                self._session_token = None  # the session token expired: log in afresh
                result = None
        if result is None:
            assert s.user and s.password
            result = await self.call(ws, proto, reader, "login",
                                      ddp.password_params(s.user, s.password))
        if result.error is not None:
            fatal = login_failure(result.error, "token" if s.token else "password")
            raise fatal or Dropped(f"login failed: {result.error.error} "
                                   f"{result.error.reason}")
        uid = str(result.result.get("id"))
        login_token = s.token or str(result.result.get("token"))
        if not s.token:
            self._session_token = login_token
        self.status.logged_in = True
        await self.learn_identity(uid, login_token)
        return uid

    async def learn_identity(self, uid: str, token: str) -> None:
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

    # -- frames in -------------------------------------------------------------------------

    async def reader(self, ws: ClientConnection, proto: ddp.DdpProtocol) -> None:
        pinged = False
        while True:
            try:
                wait = self.options.dead_after if pinged else self.options.idle_ping
                async with asyncio.timeout(wait):  # cheaper than wait_for: no extra task
                    frame = await ws.recv()
            except TimeoutError:
                if pinged:
                    raise Dropped(f"no answer from the server for "
                                  f"{self.options.idle_ping + self.options.dead_after:g} s"
                                  ) from None
                proto.ping()
                await self.flush(ws, proto)
                pinged = True
                continue
            pinged = False
            self.status.touch(self.listener.clock.now())
            for event in proto.receive(frame):
                self.dispatch(event)
            await self.flush(ws, proto)  # pongs

    def dispatch(self, event: ddp.Event) -> None:
        if isinstance(event, ddp.StreamEvent):
            self.on_stream(event)
        elif isinstance(event, ddp.Result):
            future = self.calls.pop(event.id, None)
            if future is not None and not future.done():
                future.set_result(event)
        elif isinstance(event, ddp.Ready):
            for sub_id in event.subs:
                self.resolve_sub(sub_id, event)
        elif isinstance(event, ddp.NoSub):
            self.resolve_sub(event.id, event)
            if event.name == "stream-room-messages":
                self.status.subscribed = False
        elif isinstance(event, ddp.Connected):
            if self.connected is not None and not self.connected.done():
                self.connected.set_result(event)
        elif isinstance(event, ddp.Failed):
            if event.version not in ddp.DDP_VERSIONS:
                raise ProtocolError(f"the server wants DDP version {event.version!r}")
            self.ddp_version = event.version
        elif isinstance(event, ddp.ServerError):
            log.warning("realtime: the server reports an error: %s", event.reason)

    def resolve_sub(self, sub_id: str, event: ddp.Ready | ddp.NoSub) -> None:
        future = self.subs.pop(sub_id, None)
        if future is not None and not future.done():
            future.set_result(event)

    # -- frames out ------------------------------------------------------------------------

    async def flush(self, ws: ClientConnection, proto: ddp.DdpProtocol) -> None:
        for frame in proto.outgoing():
            await ws.send(frame)

    def cancel_pending(self) -> None:
        """Cancel the calls and subscriptions the dropped connection will never answer."""
        futures: list[asyncio.Future[Any]] = [*self.calls.values(), *self.subs.values()]
        for future in futures:
            if not future.done():
                future.cancel()
        self.calls.clear()
        self.subs.clear()
