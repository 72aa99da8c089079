"""`Simulator`: runs the server on its own thread + event loop, and the control surface for tests.

Python: `Simulator(options).start()`; then `url`, `ws_url`, `create_user`, `login_token`,
`create_channel`, `dm_room`, `post_message`, `messages`, `message`, `click`, `age_message`,
`settings`/`set_settings`, `deliveries`, `drop_connections`, `pause_stream`, `set_rate_limit`,
`force_rate_limit`, `rest_down`, `wait_for`, `stop`. Everything that changes state is run on
the server's loop, through the same functions the REST and DDP handlers use, so streams and
integrations fire exactly as for a real client. The HTTP twin is in control_http.py.
"""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from aiohttp import web

from tests.rocketchat_server import buttons, messaging
from tests.rocketchat_server import settings as workspace_settings
from tests.rocketchat_server.codec import to_rest
from tests.rocketchat_server.control_http import install_control_routes
from tests.rocketchat_server.ddp import Hub
from tests.rocketchat_server.integrations import IntegrationsEngine
from tests.rocketchat_server.rest import RestApi, load_routes
from tests.rocketchat_server.runtime import Runtime, SimulatorOptions
from tests.rocketchat_server.state import Doc, User

T = TypeVar("T")


class Simulator:
    def __init__(self, options: SimulatorOptions | None = None, **overrides: Any) -> None:
        base = options or SimulatorOptions()
        self.options = SimulatorOptions(**{**base.__dict__, **overrides})
        self.runtime = Runtime(self.options)
        self.world = self.runtime.world
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.hub: Hub | None = None
        self.engine: IntegrationsEngine | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Simulator:
        load_routes()
        ready: Future[int] = Future()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True,
                                        name="rocketchat-simulator")  # fmt: skip
        self._thread.start()
        self.port = ready.result(timeout=10)
        self.world.site_url = f"{self.url}/"
        if self.options.site_url:
            self.world.site_url = self.options.site_url
        self._call(self._bootstrap)
        return self

    def _serve(self, ready: Future[int]) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._open(ready))
        except BaseException as error:  # report start-up failures to the caller
            if not ready.done():
                ready.set_exception(error)
            return
        loop.run_forever()
        loop.run_until_complete(self._close())
        loop.close()

    async def _open(self, ready: Future[int]) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        self.hub = Hub(self.runtime)
        self.engine = IntegrationsEngine(self.runtime)
        RestApi(self.runtime).install(app)
        self.hub.install(app)
        install_control_routes(app, self)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.options.host, self.options.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        ready.set_result(sockets[0].getsockname()[1])

    async def _close(self) -> None:
        if self.hub is not None:
            self.hub.drop_all()
        if self.engine is not None:
            await self.engine.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        if self.options.state_file:
            from tests.rocketchat_server.persist import save

            self._call(lambda: save(self.world, self.options.state_file or ""))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _bootstrap(self) -> None:
        if self.options.state_file:
            from tests.rocketchat_server.persist import load

            if load(self.world, self.options.state_file):
                return
        if self.world.user_by_username("rocket.cat") is None:
            self.world.add_user("rocket.cat", "", name="Rocket.Cat", roles=["bot"],
                                join_default_channels=False)  # fmt: skip
        if self.world.user_by_username(self.options.admin_user) is None:
            self.world.add_user(self.options.admin_user, self.options.admin_password,
                                name="Administrator", roles=["admin"], verified=True)  # fmt: skip

    def _call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the server loop (where all state changes happen) and return its value."""
        assert self._loop is not None, "Simulator is not started"

        async def wrapper() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(timeout=30)

    # -- addresses ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.options.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.options.host}:{self.port}/websocket"

    # -- users, rooms, messages -----------------------------------------------------------

    def create_user(self, username: str, password: str, roles: tuple[str, ...] = ("user",),
                    bot: bool = False, two_factor: bool = False, name: str | None = None,
                    join_default_channels: bool = True) -> Doc:  # fmt: skip
        wanted = list(roles) + (["bot"] if bot and "bot" not in roles else [])
        user = self._call(lambda: self.world.add_user(
            username, password, name=name, roles=wanted, two_factor=two_factor, verified=True,
            join_default_channels=join_default_channels))  # fmt: skip
        return {**to_rest(user.public_doc()), "totp_code": user.totp_code}

    def _user(self, username: str) -> User:
        with self.world.lock:  # the loop thread may be adding users
            user = self.world.user_by_username(username)
        if user is None:
            raise KeyError(f"no such user: {username}")
        return user

    def login_token(self, username: str) -> tuple[str, str]:
        """A fresh login token for `username` (as if it had logged in): (user_id, token)."""
        user = self._user(username)
        token = self._call(lambda: self.world.issue_token(user))
        return user.id, token.token

    def create_channel(self, name: str, members: list[str] | tuple[str, ...] = (),
                       private: bool = False, owner: str | None = None) -> Doc:  # fmt: skip
        owner_user = self._user(owner or self.options.admin_user)
        users = [self._user(m) for m in members]
        kind = "p" if private else "c"
        everyone = [owner_user, *users]
        room = self._call(
            lambda: self.world.create_room(kind, name, owner=owner_user, members=everyone)
        )
        return to_rest(room)

    def dm_room(self, user_a: str, user_b: str) -> str:
        a, b = self._user(user_a), self._user(user_b)
        room, _ = self._call(lambda: self.world.dm_between([a, b]))
        return str(room["_id"])

    def post_message(self, username: str, room: str, text: str, tmid: str | None = None,
                     **fields: Any) -> Doc:  # fmt: skip
        """Post as `username` into a room id, `#channel` or `@user` (chat.postMessage's path)."""
        user = self._user(username)
        target = room if room[:1] in "#@" else room
        body = {"text": text, **({"tmid": tmid} if tmid else {}), **fields}
        saved = self._call(
            lambda: messaging.process_webhook_message(self.world, user, body, [target])
        )
        return saved[0]

    def messages(self, rid: str) -> list[Doc]:
        return self.world.snapshot_messages(rid)

    def message(self, message_id: str) -> Doc:
        """The message as stored now (edits, reactions, thread counters; dates are datetimes)."""
        with self.world.lock:
            found = self.world.message_index.get(message_id)
            if found is None:
                raise KeyError(f"no message with id {message_id!r}")
            return copy.deepcopy(found)

    def click(self, username: str, message_id: str, button: str | int) -> Doc | None:
        """`username` clicks a button (its label, or its index over all attachments): a
        `msg_in_chat_window` button makes that user send the button's `msg` into the room
        (returned); `url` buttons change nothing on the server (None)."""
        user = self._user(username)
        sent = self._call(lambda: buttons.click(self.world, user, message_id, button))
        return copy.deepcopy(sent)

    def age_message(self, message_id: str, minutes: float) -> None:
        """Move a message's `ts` `minutes` into the past (to reach the edit window)."""
        self._call(lambda: self.world.age_message(message_id, minutes))

    @property
    def settings(self) -> dict[str, Any]:
        with self.world.lock:
            return dict(self.world.settings)

    def set_settings(self, **values: Any) -> dict[str, Any]:
        """Change workspace settings (`Message_AllowEditing=False`, ...); returns all of them."""
        changes = workspace_settings.checked(values)

        def apply() -> dict[str, Any]:
            self.world.settings.update(changes)
            self.world.bump()
            return dict(self.world.settings)

        return self._call(apply)

    @property
    def deliveries(self) -> list[Doc]:
        return self.world.snapshot_deliveries()

    def integration(self, integration_id: str) -> Doc:
        return dict(self.world.integrations[integration_id])

    def totp_code(self, username: str) -> str:
        return self._user(username).totp_code

    # -- faults ---------------------------------------------------------------------------

    def drop_connections(self) -> int:
        hub = self.hub
        assert hub is not None
        return self._call(hub.drop_all)

    def pause_stream(self, seconds: float) -> None:
        self.runtime.paused_until = time.monotonic() + seconds

    def rest_down(self, seconds: float) -> None:
        self.runtime.rest_down_until = time.monotonic() + seconds

    def set_rate_limit(self, key: str, calls: int, window_s: float, force: bool = False) -> None:
        """Limit a REST route (`chat.postMessage`) or DDP method (`sendMessage`)."""
        self.runtime.limiter.set_rule(key, calls, window_s, force)

    def force_rate_limit(self, key: str, count: int) -> None:
        """The next `count` calls of that route/method get 429 / too-many-requests."""
        self.runtime.limiter.force_next(key, count)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        """Wait until `predicate()` is truthy (re-checked on every state change); returns it."""
        deadline = time.monotonic() + timeout
        while True:
            with self.world.changed:
                version = self.world.version
            value = predicate()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            self._wait_change(version, min(left, 0.2))

    def _wait_change(self, version: int, timeout: float) -> None:
        with self.world.changed:
            self.world.changed.wait_for(lambda: self.world.version != version, timeout)
