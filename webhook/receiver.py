"""The webhook endpoint: authenticate, parse, guard, store, answer, and log every request.

``POST|GET /api/v1/messages/webhook[/<path>]``. ``200`` comes only after
``ctx.ingestor.accept`` returned, i.e. after the command is committed. Every request, whatever
its outcome, is written to the request log (``rules.store.diagnostics``, through the batching
writer in ``webhook.requestlog``) with the body capped and the Rocket.Chat ``token`` replaced
by ``***``.

Rocket.Chat requests (the path is one of ``settings.webhook.rocketchat_paths``, or the
command's source is ``rocket.chat`` or one of those names, as the spec says "webhook requests
whose source is rocket.chat, or another path configured as Rocket.Chat") get two extra
rules: once-only by
``message_id`` (plus the edit stamp ``edited`` when ``isEdited`` is true: the outgoing webhook
carries no ``editedAt``, so all edits of one message share one key and only the first edit is
processed), and the loop guard (``bot`` set, or written by the bot itself). A message
addressed to the bot whose first word is a chat command goes to the chat command desk
(``ctx.chat_commands``, the realtime path's too) instead of the rules: it is
answered once over REST through the outbox, never in this HTTP answer, which is then
``{"status": "command"}`` (or ``"duplicate"``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Request, Response, current_app, jsonify, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import RequestEntityTooLarge

from rules.command import MessageCommand
from rules.message_keys import ChatInput, dedupe_key, loop_guard_reason
from rules.store import diagnostics
from webhook.auth import same_secret
from webhook.capture import (
    MASK,
    capture_body,
    capture_headers,
    environ_headers,
    full_path,
    redact,
)
from webhook.context import AppContext, current_ctx
from webhook.errors import ApiError
from webhook.parse import Parsed, RawRequest, client_ip, parse_query, parse_request
from webhook.settings import AppSettings, UserSettings

log = logging.getLogger(__name__)

PREFIX = "/api/v1/messages/webhook"
webhook = Blueprint("webhook", __name__)


@dataclass
class Captured:
    """The request as received, from which the log row's body and headers are made."""

    body: bytes
    content_type: str | None
    headers: tuple[tuple[str, str], ...]
    settings: AppSettings


@dataclass
class Entry:
    """One request-log row in the making.

    ``captured`` and ``source`` (the parsed command) are kept as they are and made into the
    row's ``body``, ``headers`` and ``command`` only by :meth:`row`, in the log writer's
    thread, and only for the rows the log keeps (``RequestLog.submit_later``). Neither is
    changed after the request: the command is not altered once parsed and masked.
    """

    method: str
    path: str
    remote_addr: str
    content_type: str | None
    size: int
    user: str | None = None
    body: str | None = None
    headers: dict[str, str] | None = None
    command: dict[str, Any] | None = None
    message_id: int | None = None
    outcome: str = "invalid"
    error: str | None = None
    status: int = 400
    captured: Captured | None = None
    source: MessageCommand | None = None

    def row(self) -> dict[str, Any]:
        """The request-log row's fields."""
        fields = {k: v for k, v in self.__dict__.items() if k not in ("captured", "source")}
        captured = self.captured
        if captured is not None:
            fields["body"] = capture_body(captured.body, captured.content_type,
                                          captured.settings)
            fields["headers"] = capture_headers(captured.headers, captured.settings)
        if self.source is not None:
            fields["command"] = self.source.to_json()
        return fields


@dataclass
class Result:
    status: int
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@webhook.route(PREFIX, methods=["GET", "POST"], defaults={"rest": ""}, strict_slashes=False)
@webhook.route(f"{PREFIX}/<path:rest>", methods=["GET", "POST"])
def receive(rest: str) -> tuple[Response, int, dict[str, str]] | Response:
    # The request object itself, not the context-local proxy: each attribute read through
    # the proxy costs a context lookup, and a request reads dozens (bench/webhook.py).
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    if req.method == "HEAD":
        # Flask adds HEAD to GET routes; a probe must not create a message.
        return jsonify({"error": "use GET or POST"}), 405, {"Allow": "GET, POST"}
    ctx = current_ctx()
    settings = ctx.settings
    environ = req.environ
    addr = client_ip(req.remote_addr or "", environ.get("HTTP_X_FORWARDED_FOR"),
                     settings.http.trusted_proxies)
    path_and_query = full_path(req)
    content_type = req.content_type
    entry = Entry(method=req.method, path=redact(path_and_query, settings),
                  remote_addr=addr, content_type=content_type, size=req.content_length or 0)
    try:
        auth = ctx.authenticator
        user = auth.check_basic(req, "webhook", addr=addr, path=path_and_query)
        entry.user = user.name
        auth.check_limits(user, addr=addr, path=path_and_query,
                          webhook_path=rest.strip("/").lower())
        raw = _raw_request(req, rest, content_type, entry)
        entry.captured = Captured(raw.body, content_type, raw.headers, settings)
        result = process(ctx, raw, entry, user=user, check_token=True)
    except ApiError as exc:
        result = _failed(entry, exc)
    except Exception:
        log.exception("webhook request %s %s from %s failed", req.method,
                      entry.path.split("?")[0], addr)
        entry.outcome, entry.status, entry.error = "error", 500, "internal error"
        result = Result(500, {"error": "internal error"})
    _write_log(ctx, entry)
    return _answer(result)


def _answer(result: Result) -> Response:
    """``result`` as JSON (the app's JSON provider, its default separators) at a third of
    ``jsonify``'s cost; the answers every stored or repeated message gets (``{"status":
    "ok"}``, ``"duplicate"``) are encoded once per app."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    payload = result.payload
    body: str | bytes | None = None
    if len(payload) == 1 and not result.headers:
        status = payload.get("status")
        if status in _CONSTANT:
            cached: dict[str, bytes] = app.extensions.setdefault("atsd.answers", {})
            body = cached.get(status)
            if body is None:
                body = cached[status] = f"{app.json.dumps(payload)}\n".encode()
    if body is None:
        body = f"{app.json.dumps(payload)}\n"
    # content_type rather than mimetype: the same header, without working out a charset
    return app.response_class(body, status=result.status, headers=result.headers or None,
                              content_type="application/json")


_CONSTANT = ("ok", "duplicate")  # {"status": ...} answers encoded once (_answer)


def _raw_request(req: Request, rest: str, content_type: str | None, entry: Entry
                 ) -> RawRequest:
    try:
        body = req.get_data(cache=False)
    except RequestEntityTooLarge:
        limit = current_ctx().settings.http.max_body_bytes
        raise ApiError(413, f"request body too large: the limit is {limit} bytes") from None
    entry.size = len(body)
    return RawRequest(
        method=req.method,
        path=rest,
        query=parse_query(req.query_string),
        headers=environ_headers(req.environ),
        content_type=content_type,
        body=body,
        remote_addr=req.remote_addr or "",
    )


def _failed(entry: Entry, exc: ApiError) -> Result:
    entry.outcome, entry.status, entry.error = exc.outcome, exc.status, exc.message
    return Result(exc.status, {"error": exc.message}, exc.headers)


def process(ctx: AppContext, raw: RawRequest, entry: Entry, *, user: UserSettings | None,
            check_token: bool) -> Result:
    """Parse ``raw``, apply token, limits and Rocket.Chat rules, ingest; fill ``entry``."""
    settings = ctx.settings
    parsed = parse_request(raw, now=ctx.clock.now(),
                           trusted_proxies=settings.http.trusted_proxies)
    command = parsed.command
    _mask_secrets(command, settings.secrets())
    entry.source = command
    path = raw.webhook_path
    auth = ctx.authenticator
    if check_token and path in settings.webhook.tokens:
        given = parsed.top.get("token")
        if not isinstance(given, str) or not same_secret(given, settings.webhook.tokens[path]):
            auth.fail(entry.remote_addr, entry.path, entry.user, "token mismatch", 403,
                      "token mismatch")
    if user is not None:
        auth.check_limits(user, addr=entry.remote_addr, path=entry.path, entity=command.entity)
    key = None
    rc_names = settings.webhook.rocketchat_paths
    if path in rc_names or command.source in rc_names or command.source == "rocket.chat":
        reason = _loop_guard(ctx, parsed)
        if reason is not None:
            entry.outcome, entry.status, entry.error = "ignored", 200, reason
            return Result(200, {"status": "ignored", "reason": reason})
        key = _dedupe_key(parsed.top, ctx.edit_stamp)
        answered = _chat_command(ctx, parsed.top, key)
        if answered is not None:  # "command" or "duplicate": answered over REST, not here
            entry.outcome, entry.status = answered, 200
            return Result(200, {"status": answered})
    try:
        accepted = ctx.ingestor.accept(command, path="webhook", dedupe_key=key)
    except DBAPIError as exc:
        log.error("store unavailable for webhook request: %s", type(exc).__name__)
        raise ApiError(503, "storage unavailable; retry later",
                       headers={"Retry-After": "5"}, outcome="error") from None
    entry.message_id, entry.status = accepted.message_id, 200
    if accepted.duplicate:
        entry.outcome = "duplicate"
        body = ({**_duplicate_echo(command, accepted.command or command), "duplicate": True}
                if parsed.debug else {"status": "duplicate"})
        return Result(200, body)
    entry.outcome = "stored"
    payload: dict[str, Any] = command.to_json() if parsed.debug else {"status": "ok"}
    replies = [n.text for n in accepted.notifications if n.target.get("sync_reply")]
    if replies:
        payload["text"] = "\n".join(replies)
    return Result(200, payload)


def _chat_command(ctx: AppContext, top: dict[str, Any], key: str | None) -> str | None:
    """Hand the message to the chat command desk (``ctx.chat_commands``, the same one the
    realtime path uses); None when it is no command (it goes to the rules)."""
    desk = ctx.chat_commands
    room = top.get("channel_id")
    if desk is None or key is None or not isinstance(room, str) or not room:
        return None

    def text(name: str) -> str | None:
        value = top.get(name)
        return value if isinstance(value, str) and value else None

    message = ChatInput(message_id=str(top.get("message_id")), key=key, room_id=room,
                        text=text("text") or "", user_id=text("user_id"),
                        username=text("user_name"), direct=text("channel_name") is None,
                        tmid=text("tmid"), trigger_word=text("trigger_word"))
    try:
        answered: str | None = desk(message, path="webhook")
    except DBAPIError as exc:
        log.error("store unavailable for a chat command: %s", type(exc).__name__)
        raise ApiError(503, "storage unavailable; retry later",
                       headers={"Retry-After": "5"}, outcome="error") from None
    return answered


def _duplicate_echo(command: MessageCommand, stored: MessageCommand) -> dict[str, Any]:
    """What ``debug=true`` shows for a duplicate: the stored command (spec: "the stored
    command plus duplicate: true"), so a re-delivery sees the first receipt's date.

    Only when this request carries the same content, though: the first delivery may have
    come from another user, and a request that merely reuses a ``message_id`` must not
    learn what that user sent; it sees its own command instead.
    """
    mine, first = command.to_json(), stored.to_json()
    same = {k: v for k, v in mine.items() if k != "date"} == {
        k: v for k, v in first.items() if k != "date"}
    return first if same else mine


def _mask_secrets(command: MessageCommand, secrets: list[str]) -> None:
    """A configured secret (a token, a password) is never stored, wherever a client put it."""
    for secret in secrets:
        if secret in command.message:
            command.message = command.message.replace(secret, MASK)
        for name, value in command.tags.items():
            if secret in value:
                command.tags[name] = value.replace(secret, MASK)


def _loop_guard(ctx: AppContext, parsed: Parsed) -> str | None:
    top = parsed.top
    user_id, user_name = top.get("user_id"), top.get("user_name")
    return loop_guard_reason(top.get("bot"), user_id if isinstance(user_id, str) else None,
                             user_name if isinstance(user_name, str) else None,
                             ctx.bot_identity())


def _dedupe_key(top: dict[str, Any], stamp: Callable[[str], str] | None = None
                ) -> str | None:
    message_id = top.get("message_id")
    if not isinstance(message_id, str) or not message_id.strip():
        return None
    if top.get("isEdited") not in (True, "true", "True"):
        return dedupe_key(message_id.strip()[:200])
    # with [rocketchat] configured, ``stamp`` (bot.chat.edits) reads editedAt as realtime keys it
    edited = stamp(message_id.strip()[:200]) if stamp is not None else "edited"
    return dedupe_key(message_id.strip()[:200], edited)


def _write_log(ctx: AppContext, entry: Entry) -> None:
    ctx.request_log.submit_later(entry.row)


def replay_request(ctx: AppContext, request_id: int) -> int:
    """Resubmit logged request ``request_id`` through parse and ingest; the new log id.

    An admin action: authentication and the body token are not checked. Raises
    ``LookupError`` for an unknown id and ``ValueError`` when the request cannot be replayed
    (not a webhook request, or its body was cut in the log). A Rocket.Chat message that was
    stored before is answered as a duplicate, as any re-delivery is.
    """
    ctx.request_log.flush()
    with ctx.db.connect() as conn:
        row = diagnostics.get_request(conn, request_id)
    if row is None:
        raise LookupError(f"no logged request {request_id}")
    path, _, query = str(row["path"]).partition("?")
    if path != PREFIX and not path.startswith(PREFIX + "/"):
        raise ValueError(f"request {request_id} was not a webhook request")
    if int(row["size"]) > ctx.settings.webhook.body_capture_bytes:
        raise ValueError(f"request {request_id}: its body was cut in the log; cannot replay")
    headers = tuple((str(k), str(v)) for k, v in (row["headers"] or {}).items()
                    if str(k).lower() != "x-forwarded-for")
    body = (row["body"] or "").encode("utf-8")
    entry = Entry(method=row["method"], path=row["path"], remote_addr=row["remote_addr"],
                  content_type=row["content_type"], size=len(body),
                  user=f"replay of #{request_id}", body=row["body"], headers=dict(headers))
    try:
        raw = RawRequest(method=row["method"], path=path[len(PREFIX):].lstrip("/"),
                         query=parse_query(query), headers=headers,
                         content_type=row["content_type"], body=body,
                         remote_addr=row["remote_addr"])
        process(ctx, raw, entry, user=None, check_token=False)
    except ApiError as exc:
        _failed(entry, exc)
    return ctx.request_log.write_now(**entry.row())
