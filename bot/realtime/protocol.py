"""A pure DDP state machine: text frames in, events and frames to send out. No I/O.

Written from ``shared/reference/rocketchat-protocol.md`` section 3. The connection loop in
``bot/realtime/client.py`` feeds every received text frame to :meth:`DdpProtocol.receive` and
sends whatever :meth:`DdpProtocol.outgoing` returns; everything the loop needs to react to
comes back as an event object. Tolerated server variants:

- a bare ``{"server_id": "0"}`` greeting (old Meteor) or any frame without a known ``msg``:
  ignored (the frame still counts as a sign of life);
- ``connected`` or ``failed`` (the server wants another DDP version);
- server pings with or without ``id`` (a pong echoes the id only when one was given);
- a method ``result`` without a ``result`` key (the method returned nothing);
- ``updated`` before or after ``result``;
- ``added`` documents for ``useCollection`` subscribers before ``ready``.

Stream events are ``changed`` frames with ``id: "id"`` and ``fields: {eventName, args}``; they
come out as :class:`StreamEvent` keyed by ``(collection, event_name)``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from bot.errors import ProtocolError

DDP_VERSIONS = ("1", "pre2", "pre1")


# -- events ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connected:
    session: str


@dataclass(frozen=True, slots=True)
class Failed:
    """The server refused the DDP version; ``version`` is the one it proposes."""

    version: str


@dataclass(frozen=True, slots=True)
class Pong:
    id: str | None


@dataclass(frozen=True, slots=True)
class MethodError:
    """The ``error`` object of a method result or a ``nosub``, in the real shape."""

    error: str  # the code, as text ("403", "too-many-requests", "totp-required", ...)
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, raw: Any) -> MethodError:
        if not isinstance(raw, dict):
            return cls(error="unknown", reason=str(raw))
        details = raw.get("details")
        return cls(
            error=str(raw.get("error", "unknown")),
            reason=str(raw.get("reason") or raw.get("message") or raw.get("error") or ""),
            details=details if isinstance(details, dict) else {},
        )

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait for a ``too-many-requests`` error, from ``details.timeToReset``."""
        if self.error != "too-many-requests":
            return None
        ms = self.details.get("timeToReset")
        return float(ms) / 1000.0 if isinstance(ms, (int, float)) else 1.0


@dataclass(frozen=True, slots=True)
class Result:
    """The answer to one of our method calls. ``has_result`` is false when the key was absent."""

    id: str
    method: str
    result: Any = None
    error: MethodError | None = None
    has_result: bool = False


@dataclass(frozen=True, slots=True)
class Updated:
    methods: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Ready:
    subs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NoSub:
    id: str
    name: str | None
    error: MethodError | None


@dataclass(frozen=True, slots=True)
class Document:
    """``added`` / ``changed`` / ``removed`` of an ordinary collection (not a stream event)."""

    kind: str
    collection: str
    id: str
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StreamEvent:
    collection: str
    event_name: str
    args: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class ServerError:
    """A top-level ``{"msg": "error"}``: the server could not understand one of our frames."""

    reason: str


Event = (Connected | Failed | Pong | Result | Updated | Ready | NoSub | Document | StreamEvent
         | ServerError)


# -- EJSON -------------------------------------------------------------------------------


# -- login parameters ---------------------------------------------------------------------


def resume_params(token: str) -> list[dict[str, Any]]:
    return [{"resume": token}]


def password_params(username: str, password: str) -> list[dict[str, Any]]:
    """The digest form every current client sends; the password itself never leaves here."""
    digest = hashlib.sha256(password.encode("utf-8")).hexdigest()
    user_key = "email" if "@" in username else "username"
    return [{"user": {user_key: username},
             "password": {"digest": digest, "algorithm": "sha-256"}}]


# -- the state machine ---------------------------------------------------------------------


class DdpProtocol:
    """One DDP session's state. Create a new one for each websocket connection."""

    def __init__(self, *, support: tuple[str, ...] = DDP_VERSIONS,
                 version: str | None = None) -> None:
        self.support = support
        self.version = version if version in support else support[0]
        self.session: str | None = None
        self.connected = False
        self._out: list[str] = []
        self._ids = itertools.count(1)
        self._pending: dict[str, str] = {}  # method call id -> method name
        self.subscriptions: dict[str, str] = {}  # sub id -> stream/publication name
        self.ready: set[str] = set()

    # frames out
    def outgoing(self) -> list[str]:
        """Frames queued for sending, oldest first; the queue is emptied."""
        frames, self._out = self._out, []
        return frames

    def _send(self, frame: dict[str, Any]) -> None:
        self._out.append(json.dumps(frame, separators=(",", ":")))

    def _next_id(self) -> str:
        return str(next(self._ids))

    def connect(self) -> None:
        self._send({"msg": "connect", "version": self.version, "support": list(self.support)})

    def call(self, method: str, params: list[Any] | None = None) -> str:
        call_id = self._next_id()
        self._pending[call_id] = method
        self._send({"msg": "method", "method": method, "params": params or [], "id": call_id})
        return call_id

    def subscribe(self, name: str, params: list[Any]) -> str:
        sub_id = self._next_id()
        self.subscriptions[sub_id] = name
        self._send({"msg": "sub", "id": sub_id, "name": name, "params": params})
        return sub_id

    def unsubscribe(self, sub_id: str) -> None:
        self._send({"msg": "unsub", "id": sub_id})

    def ping(self) -> str:
        ping_id = "p" + self._next_id()
        self._send({"msg": "ping", "id": ping_id})
        return ping_id

    @property
    def pending_calls(self) -> dict[str, str]:
        return dict(self._pending)

    # frames in
    def receive(self, text: str | bytes) -> list[Event]:
        """Digest one frame; returns the events it carries (often none)."""
        try:
            frame = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProtocolError(f"DDP frame is not JSON: {exc}") from None
        if not isinstance(frame, dict):
            return []  # e.g. SockJS "o" / heartbeats: nothing for us
        handler = _HANDLERS.get(str(frame.get("msg")))
        return handler(self, frame) if handler is not None else []

    def _on_connected(self, frame: dict[str, Any]) -> list[Event]:
        self.connected = True
        self.session = str(frame.get("session") or "")
        return [Connected(self.session)]

    def _on_failed(self, frame: dict[str, Any]) -> list[Event]:
        proposed = str(frame.get("version") or "")
        if proposed in self.support and proposed != self.version:
            # Meteor answers with the version it would accept; try once more with it.
            self.version = proposed
            self.connect()
        return [Failed(proposed)]

    def _on_ping(self, frame: dict[str, Any]) -> list[Event]:
        pong: dict[str, Any] = {"msg": "pong"}
        if "id" in frame:
            pong["id"] = frame["id"]
        self._send(pong)
        return []

    def _on_pong(self, frame: dict[str, Any]) -> list[Event]:
        return [Pong(frame.get("id"))]

    def _on_result(self, frame: dict[str, Any]) -> list[Event]:
        call_id = str(frame.get("id"))
        method = self._pending.pop(call_id, "")
        error = MethodError.from_frame(frame["error"]) if "error" in frame else None
        return [Result(call_id, method, frame.get("result"), error, "result" in frame)]

    def _on_updated(self, frame: dict[str, Any]) -> list[Event]:
        return [Updated(tuple(str(m) for m in frame.get("methods") or ()))]

    def _on_ready(self, frame: dict[str, Any]) -> list[Event]:
        subs = tuple(str(s) for s in frame.get("subs") or ())
        self.ready.update(subs)
        return [Ready(subs)]

    def _on_nosub(self, frame: dict[str, Any]) -> list[Event]:
        sub_id = str(frame.get("id"))
        name = self.subscriptions.pop(sub_id, None)
        self.ready.discard(sub_id)
        error = MethodError.from_frame(frame["error"]) if "error" in frame else None
        return [NoSub(sub_id, name, error)]

    def _on_document(self, frame: dict[str, Any]) -> list[Event]:
        kind = str(frame["msg"])
        collection = str(frame.get("collection") or "")
        fields = frame.get("fields")
        fields = fields if isinstance(fields, dict) else {}
        if kind == "changed" and collection.startswith("stream-") and "eventName" in fields:
            args = fields.get("args")
            return [StreamEvent(collection, str(fields["eventName"]),
                                tuple(args) if isinstance(args, list) else ())]
        return [Document(kind, collection, str(frame.get("id")), fields)]

    def _on_error(self, frame: dict[str, Any]) -> list[Event]:
        return [ServerError(str(frame.get("reason") or "unknown error"))]


_HANDLERS = {
    "connected": DdpProtocol._on_connected,
    "failed": DdpProtocol._on_failed,
    "ping": DdpProtocol._on_ping,
    "pong": DdpProtocol._on_pong,
    "result": DdpProtocol._on_result,
    "updated": DdpProtocol._on_updated,
    "ready": DdpProtocol._on_ready,
    "nosub": DdpProtocol._on_nosub,
    "added": DdpProtocol._on_document,
    "changed": DdpProtocol._on_document,
    "removed": DdpProtocol._on_document,
    "error": DdpProtocol._on_error,
}
