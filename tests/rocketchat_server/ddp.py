"""The realtime API: DDP over a websocket at /websocket (transport, handshake, heartbeat).

Meteor's rules (livedata_server.js): frames before `connect` get `error "Must connect first"`,
bad JSON `error "Parse error"`, unknown `msg` `error "Bad request"`; `connect` must name a
`version` that is in its own `support` list, and the server answers `failed` with the first
entry of the client's `support` it knows when that differs from `version`; otherwise
`connected` with a random session id. Heartbeat: after `ping_interval` seconds without any
frame from the client the server sends `{"msg":"ping"}` (no id) and closes the session when
nothing arrives within `ping_timeout`. Client pings are answered at once, echoing the id only
when one was given. Methods are in ddp_methods.py, subscriptions in ddp_streams.py.

`pause` (control API) stalls a connection the way a hung server does: no frame goes out and
incoming frames wait unprocessed until the pause ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from aiohttp import WSMsgType, web

from tests.rocketchat_server.codec import to_ejson
from tests.rocketchat_server.runtime import Runtime
from tests.rocketchat_server.state import Token, User, random_id

SUPPORTED_VERSIONS = ("1", "pre2", "pre1")


class Connection:
    """One DDP session."""

    def __init__(self, hub: Hub, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.hub = hub
        self.runtime: Runtime = hub.runtime
        self.ws = ws
        self.request = request
        self.session: str | None = None
        self.user: User | None = None
        self.token: Token | None = None
        self.subs: dict[str, Any] = {}
        self.added_collections: set[str] = set()
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.last_seen = time.monotonic()
        self.closed = False
        self._writer_task: asyncio.Task[None] | None = None

    # -- output ---------------------------------------------------------------------------

    def send(self, frame: dict[str, Any]) -> None:
        if not self.closed:
            self.outbox.put_nowait(json.dumps(to_ejson(frame), separators=(",", ":")))

    def send_raw(self, text: str) -> None:
        if not self.closed:
            self.outbox.put_nowait(text)

    async def _writer(self) -> None:
        while True:
            text = await self.outbox.get()
            if text is None:
                return
            await self.hub.wait_unpaused()
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_str(text)

    def error(self, reason: str, offending: Any = None) -> None:
        frame: dict[str, Any] = {"msg": "error", "reason": reason}
        if offending is not None:
            frame["offendingMessage"] = offending
        self.send(frame)

    # -- lifecycle ------------------------------------------------------------------------

    async def run(self) -> None:
        writer = self._writer_task = asyncio.create_task(self._writer())
        heartbeat = asyncio.create_task(self._heartbeat())
        if self.runtime.options.send_server_id:
            self.send_raw('{"server_id":"0"}')
        try:
            async for item in self.ws:
                if item.type != WSMsgType.TEXT:
                    continue
                await self.hub.wait_unpaused()
                self.last_seen = time.monotonic()
                await self._frame(item.data)
                if self.closed:
                    break
        finally:
            self.closed = True
            heartbeat.cancel()
            self.outbox.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(writer, 1.0)
            self.hub.connections.discard(self)

    async def close(self, code: int = 1000) -> None:
        # Flush what was queued (e.g. `failed`), then close.
        self.closed = True
        self.outbox.put_nowait(None)
        if self._writer_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._writer_task), 1.0)
        with contextlib.suppress(Exception):
            await self.ws.close(code=code)

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (a network failure)."""
        self.closed = True
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def _heartbeat(self) -> None:
        options = self.runtime.options
        pinged_at: float | None = None
        while not self.closed:
            await asyncio.sleep(min(options.ping_interval, options.ping_timeout) / 10)
            if self.hub.paused():
                self.last_seen = time.monotonic()
                pinged_at = None
                continue
            silent_for = time.monotonic() - self.last_seen
            if pinged_at is not None and self.last_seen > pinged_at:
                pinged_at = None
            if pinged_at is None and silent_for >= options.ping_interval:
                pinged_at = time.monotonic()
                self.send({"msg": "ping"})
            elif pinged_at is not None and time.monotonic() - pinged_at >= options.ping_timeout:
                await self.close()
                return

    # -- input ----------------------------------------------------------------------------

    async def _frame(self, raw: str) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            self.error("Parse error")
            return
        if not isinstance(frame, dict) or "msg" not in frame:
            self.error("Bad request", frame)
            return
        kind = frame["msg"]
        if self.session is None:
            if kind == "connect":
                await self._connect(frame)
            else:
                self.error("Must connect first", frame)
            return
        if kind == "ping":
            self.send({"msg": "pong", **({"id": frame["id"]} if "id" in frame else {})})
        elif kind == "pong":
            return
        elif kind == "connect":
            self.error("Already connected", frame)
        elif kind == "method":
            await self.hub.methods.call(self, frame)
        elif kind == "sub":
            self.hub.streams.subscribe(self, frame)
        elif kind == "unsub":
            self.hub.streams.unsubscribe(self, frame)
        else:
            self.error("Bad request", frame)

    async def _connect(self, frame: dict[str, Any]) -> None:
        version, support = frame.get("version"), frame.get("support") or []
        valid = (
            isinstance(version, str)
            and isinstance(support, list)
            and all(isinstance(v, str) for v in support)
            and version in support
        )
        if not valid:
            self.send({"msg": "failed", "version": SUPPORTED_VERSIONS[0]})
            await self.close()
            return
        chosen = next((v for v in support if v in SUPPORTED_VERSIONS), SUPPORTED_VERSIONS[0])
        if chosen != version:
            self.send({"msg": "failed", "version": chosen})
            await self.close()
            return
        self.session = random_id()
        self.send({"msg": "connected", "session": self.session})


class Hub:
    """All DDP connections; fans world events out to them."""

    def __init__(self, runtime: Runtime) -> None:
        from tests.rocketchat_server.ddp_methods import Methods
        from tests.rocketchat_server.ddp_streams import Streams

        self.runtime = runtime
        self.connections: set[Connection] = set()
        self.methods = Methods(self)
        self.streams = Streams(self)
        runtime.world.listen(self.streams.on_event)

    def install(self, app: web.Application) -> None:
        app.router.add_get("/websocket", self.handle)
        app.router.add_get("/sockjs/websocket", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        connection = Connection(self, ws, request)
        self.connections.add(connection)
        await connection.run()
        return ws

    def paused(self) -> bool:
        return self.runtime.pause_left() > 0

    async def wait_unpaused(self) -> None:
        while (left := self.runtime.pause_left()) > 0:
            await asyncio.sleep(min(left, 0.05))

    def drop_all(self) -> int:
        dropped = list(self.connections)
        for connection in dropped:
            connection.abort()
        self.connections.clear()
        return len(dropped)
