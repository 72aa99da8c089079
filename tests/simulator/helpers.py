"""Test helpers: a blocking DDP client, a scripted webhook receiver, REST login shortcuts."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

import requests
from websockets.sync.client import ClientConnection, connect
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from tests.rocketchat_server import Simulator

# The outgoing-webhook script of the seed (seed/rocket.chat-outgoing-webhook.md), as written.
SEED_SCRIPT = """
class Script {
    prepare_outgoing_request({ request }) {
        return {
           url: request.url + '?message=' + request.data.text + '&exclude=text',
           method: 'POST',
           auth: 'user:password',
           content: request.data
        }

    }
}
"""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class DDP:
    """A minimal blocking DDP client that keeps every frame it receives."""

    def __init__(self, url: str, connect_frame: dict[str, Any] | None = None) -> None:
        self._opener = connect(url, open_timeout=5)
        self.ws: ClientConnection = self._opener.__enter__()
        self.frames: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._ids = 0
        self._seen: set[int] = set()  # indices of frames already returned by `until`
        if connect_frame is not False:
            self.send(connect_frame or {"msg": "connect", "version": "1", "support": ["1"]})

    def close(self) -> None:
        self._opener.__exit__(None, None, None)

    def __enter__(self) -> DDP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send(json.dumps(frame))

    def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        text = self.ws.recv(timeout=timeout)
        assert isinstance(text, str)
        self.raw.append(text)
        frame = json.loads(text)
        self.frames.append(frame)
        return frame

    def until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        """Read frames until one matches (earlier frames stay in `frames`)."""
        deadline = time.monotonic() + timeout
        for index, frame in enumerate(self.frames):
            if index not in self._seen and predicate(frame):
                self._seen.add(index)
                return frame
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching frame; got {self.frames[-5:]}")
            frame = self.recv(timeout=left)
            if predicate(frame):
                self._seen.add(len(self.frames) - 1)
                return frame

    def next_id(self) -> str:
        self._ids += 1
        return str(self._ids)

    def call(self, method: str, *params: Any) -> dict[str, Any]:
        method_id = self.next_id()
        self.send({"msg": "method", "method": method, "id": method_id, "params": list(params)})
        return self.until(lambda f: f.get("msg") == "result" and f.get("id") == method_id)

    def login(self, username: str, password: str) -> dict[str, Any]:
        digest = {"digest": sha256(password), "algorithm": "sha-256"}
        return self.call("login", {"user": {"username": username}, "password": digest})

    def sub(self, name: str, *params: Any) -> dict[str, Any]:
        sub_id = self.next_id()
        self.send({"msg": "sub", "id": sub_id, "name": name, "params": list(params)})
        return self.until(lambda f: sub_id in f.get("subs", []) or f.get("id") == sub_id)

    def changed(
        self, collection: str, event: str | None = None, timeout: float = 5.0
    ) -> dict[str, Any]:
        def match(frame: dict[str, Any]) -> bool:
            return (
                frame.get("msg") == "changed"
                and frame.get("collection") == collection
                and (event is None or frame["fields"]["eventName"] == event)
            )

        return self.until(match, timeout)


@dataclass
class Hit:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1:<ephemeral>; answers from `responses` (then `default`)."""

    responses: list[tuple[int, str, str]] = field(default_factory=list)
    default: tuple[int, str, str] = (200, "{}", "application/json")
    hits: list[Hit] = field(default_factory=list)
    server: BaseWSGIServer | None = None
    responder: Callable[[Hit], tuple[int, str, str]] | None = None

    def __post_init__(self) -> None:
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        hit = Hit(request.method, request.path, request.query_string.decode(),
                  dict(request.headers), request.get_data())  # fmt: skip
        self.hits.append(hit)
        if self.responder is not None:
            status, body, content_type = self.responder(hit)
        else:
            status, body, content_type = self.responses.pop(0) if self.responses else self.default
        return Response(body, status=status, content_type=content_type)(environ, start_response)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def receiver_fixture() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.stop()


def uid(sim: Simulator, username: str) -> str:
    """The id of an existing user (the test fails at once if there is none)."""
    user = sim.world.user_by_username(username)
    assert user is not None
    return user.id


def bot_sees_a_new_dm(sim: Simulator, ddp: DDP) -> tuple[str, str]:
    """Log ``ddp`` in as the bot, follow its room and subscription changes, then have alice
    open a DM with it; returns (the bot's user id, the DM's room id)."""
    ddp.recv()
    ddp.login("bot", "bot-pw")
    me = uid(sim, "bot")
    ddp.sub("stream-notify-user", f"{me}/rooms-changed", False)
    ddp.sub("stream-notify-user", f"{me}/subscriptions-changed", False)
    return me, sim.dm_room("alice", "bot")


def api(sim: Simulator, method: str, route: str, headers: dict[str, str] | None = None,
        **kwargs: Any) -> requests.Response:  # fmt: skip
    """One REST call to ``/api/v1/{route}`` (a short timeout: the simulator is local)."""
    return requests.request(method, f"{sim.url}/api/v1/{route}", headers=headers, timeout=5,
                            **kwargs)  # fmt: skip


def rest_login(sim: Simulator, user: str, password: str) -> dict[str, str]:
    response = requests.post(
        f"{sim.url}/api/v1/login", json={"user": user, "password": password}, timeout=5
    )
    data = response.json()["data"]
    return {"X-User-Id": data["userId"], "X-Auth-Token": data["authToken"]}


def outgoing(sim: Simulator, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    """Create an outgoing integration over REST (as the admin) and return it."""
    body = {"type": "webhook-outgoing", "name": "hook", "enabled": True, "event": "sendMessage",
            "username": "bot", "channel": "@bot", "scriptEnabled": False, **fields}  # fmt: skip
    response = requests.post(f"{sim.url}/api/v1/integrations.create", json=body,
                             headers=headers, timeout=5)  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()["integration"]
