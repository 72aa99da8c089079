"""Outgoing webhooks (event `sendMessage`), fired the way Rocket.Chat's triggerHandler does.

Every saved, non-system message is matched against enabled integrations by room type
(`all_public_channels`/`#id`/`#name`; DMs: `all_direct_messages`/`@<uid>`/`@<username>`
except the author's own username; groups: `all_private_groups`/`#id`/`#name`), trigger words
(case-sensitive raw prefixes, or substrings with `triggerWordAnywhere`) and edits
(`runOnEdits`). Each URL gets its own POST with the exact body; the script's
`prepare_outgoing_request` (see jsscript.py) can rewrite url/method/auth/headers/body or cancel.
Success is 200/201/202 **with a non-empty body**; a JSON reply with `text`/`attachments` is
posted back into the room as the integration's user with `bot: {"i": <integration id>}`, and
that message runs the triggers again, exactly like the real server (no loop guard). Non-empty
410 disables the integration, non-empty 500 is not retried, connection errors are not retried;
every other failure is retried when `retryFailedCalls` is on, after 10^(n+2) ms
(powers-of-ten), 2^(n+1) s or 2(n+1) s, times `SimulatorOptions.retry_scale`.

Every attempt is appended to `World.deliveries` (what `Simulator.deliveries` returns).
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from tests.rocketchat_server import jsscript, messaging
from tests.rocketchat_server.codec import iso
from tests.rocketchat_server.errors import MeteorError
from tests.rocketchat_server.jsvalues import UNDEFINED, to_plain
from tests.rocketchat_server.runtime import Runtime
from tests.rocketchat_server.state import Doc, now
from tests.rocketchat_server.triggers import (
    SUCCESS,
    USER_AGENT,
    decode_body,
    matched_word,
    parse_reply,
    retry_delay_ms,
    trigger_keys,
)


class IntegrationsEngine:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.world = runtime.world
        self.session: aiohttp.ClientSession | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.world.listen(self.on_event)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.session is not None:
            await self.session.close()

    def on_event(self, kind: str, payload: Doc) -> None:
        if kind != "message":
            return
        message, room = payload["message"], payload["room"]
        if message.get("t"):
            return  # decision: system messages do not fire outgoing webhooks (reference §5)
        keys = trigger_keys(room, message)
        for integration in list(self.world.integrations.values()):
            if integration.get("event") != "sendMessage" or not integration.get("enabled"):
                continue
            if not keys.intersection(integration.get("channel", [])):
                continue
            for url in integration.get("urls", []):
                self._spawn(self.execute(integration, url, message, room, 0))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def payload(self, integration: Doc, message: Doc, room: Doc, word: str | None) -> Doc:
        data: Doc = {"bot": False}
        if integration.get("token") is not None:
            data = {"token": integration["token"], "bot": False}
        if word:
            data["trigger_word"] = word
        data["channel_id"] = room["_id"]
        if room.get("name"):
            data["channel_name"] = room["name"]
        data.update({
            "message_id": message["_id"], "timestamp": iso(message["ts"]),
            "user_id": message["u"]["_id"], "user_name": message["u"]["username"],
            "text": message.get("msg", ""), "siteUrl": self.world.site_url,
        })  # fmt: skip
        if message.get("alias"):
            data["alias"] = message["alias"]
        if message.get("bot"):
            data["bot"] = message["bot"] if self.runtime.options.webhook_bot_as_object else True
        if message.get("editedAt"):
            data["isEdited"] = True
        if message.get("tmid"):
            data["tmid"] = message["tmid"]
        return data

    async def execute(
        self, integration: Doc, url: str, message: Doc, room: Doc, tries: int
    ) -> None:
        if not integration.get("enabled") or integration["_id"] not in self.world.integrations:
            return
        ok, word = matched_word(integration, message.get("msg", ""))
        if not ok or (message.get("editedAt") and not integration.get("runOnEdits")):
            return
        data = self.payload(integration, message, room, word)
        record: Doc = {
            "integration_id": integration["_id"], "integration_name": integration["name"],
            "attempt": tries + 1, "payload": data, "ts": now(),
        }  # fmt: skip
        try:
            opts = self._prepare(integration, url, data)
        except jsscript.ScriptError as error:
            self.world.record_delivery({**record, "url": url, "error": f"script: {error}"})
            return
        if not opts:
            return  # the script cancelled the request
        if isinstance(opts.get("message"), dict):
            self.reply(integration, room, dict(opts["message"]), data)
        if not opts.get("url") or not opts.get("method"):
            return
        await self._send(integration, url, message, room, tries, opts, record)

    def _prepare(self, integration: Doc, url: str, data: Doc) -> Doc | None:
        request: Doc = {"params": {}, "method": "POST", "url": url, "data": data,
                        "auth": UNDEFINED, "headers": {"User-Agent": USER_AGENT}}  # fmt: skip
        if not integration.get("scriptEnabled"):
            return to_plain(request)
        if integration.get("scriptError"):
            raise jsscript.ScriptError(integration["scriptError"]["message"])
        if not integration.get("scriptCompiled"):
            return to_plain(request)
        methods = jsscript.compile_script(integration["scriptCompiled"])
        if "prepare_outgoing_request" not in methods:
            return to_plain(request)
        result = jsscript.run(methods, "prepare_outgoing_request", {"request": request})
        if result is UNDEFINED or result is None or result is False:
            return None
        if not isinstance(result, dict):
            raise jsscript.ScriptError("prepare_outgoing_request must return an object")
        return to_plain(result)

    def _process_response(self, integration: Doc, opts: Doc, status: int, content: str,
                          headers: dict[str, str]) -> Any:  # fmt: skip
        """`process_outgoing_response`: `content` is the raw text, as on current servers."""
        if not (integration.get("scriptEnabled") and integration.get("scriptCompiled")):
            return UNDEFINED
        methods = jsscript.compile_script(integration["scriptCompiled"])
        response = {"error": None, "status_code": status, "content": content,
                    "content_raw": content, "headers": headers}  # fmt: skip
        result = jsscript.run(methods, "process_outgoing_response",
                              {"request": opts, "response": response})  # fmt: skip
        return to_plain(result) if isinstance(result, dict) else result

    def _request_parts(self, opts: Doc) -> tuple[str, dict[str, str], bytes | None, str | None]:
        strict = self.runtime.options.strict_script_result
        headers = opts.get("headers")
        if not isinstance(headers, dict):
            if strict:
                raise jsscript.ScriptError("TypeError: Cannot set properties of undefined")
            headers = {"User-Agent": USER_AGENT}
        headers = {str(k): str(v) for k, v in headers.items()}
        # Like the WHATWG URL parser fetch uses: spaces etc. become %XX, '&', '?', '#' stay.
        target = URL(quote(str(opts["url"]), safe=":/?#[]@!$&'()*+,;=%~"), encoded=True)
        auth = opts.get("auth")
        if not auth and target.user is not None:
            auth = f"{target.user}:{target.password or ''}"
        target = target.with_user(None)
        if auth:
            if ":" not in str(auth):
                raise jsscript.ScriptError('auth option should be of the form "username:password"')
            token = base64.b64encode(str(auth).encode("latin-1", "replace")).decode()
            headers["Authorization"] = f"Basic {token}"
        body_value = opts.get("data")
        if body_value is None and not strict:
            body_value = opts.get("content")  # Meteor HTTP's `content`: the raw body
        body: bytes | None = None
        if isinstance(body_value, str):
            body = body_value.encode()
        elif body_value is not None:
            body = json.dumps(body_value, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        return str(target), headers, body, str(auth) if auth else None

    async def _send(self, integration: Doc, url: str, message: Doc, room: Doc, tries: int,
                    opts: Doc, record: Doc) -> None:  # fmt: skip
        try:
            target, headers, body, auth = self._request_parts(opts)
        except jsscript.ScriptError as error:
            self.world.record_delivery({**record, "url": str(opts.get("url")), "error": str(error)})
            return
        record.update({"url": target, "method": str(opts["method"]).upper(), "headers": headers,
                       "body": decode_body(body), "auth": auth})  # fmt: skip
        timeout = float(opts.get("timeout") or 0) / 1000 or self.runtime.options.webhook_timeout
        if self.session is None:
            self.session = aiohttp.ClientSession()
        try:
            async with self.session.request(
                record["method"], URL(target, encoded=True), data=body, headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=True,
            ) as response:  # fmt: skip
                content = await response.text(errors="replace")
                status, content_type = response.status, response.content_type
                headers_in = {k.lower(): v for k, v in response.headers.items()}
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            # Connection errors and timeouts are only logged by Rocket.Chat: no retry.
            self.world.record_delivery({**record, "status": None, "error": repr(error)})
            return
        record.update({"status": status, "response_body": content, "response_type": content_type})
        self.world.record_delivery(record)
        try:
            verdict = self._process_response(integration, opts, status, content, headers_in)
        except jsscript.ScriptError as error:
            self.world.record_delivery({**record, "error": f"script: {error}"})
            return
        if isinstance(verdict, dict) and verdict.get("content"):
            self.reply(integration, room, dict(verdict["content"]), record["payload"])
            return
        if verdict is False:
            return
        await self._handle_response(integration, url, message, room, tries, status, content,
                                    content_type, record)  # fmt: skip

    async def _handle_response(self, integration: Doc, url: str, message: Doc, room: Doc,
                               tries: int, status: int, content: str, content_type: str,
                               record: Doc) -> None:  # fmt: skip
        if not content or status not in SUCCESS:
            if content and status == 410:
                integration["enabled"] = False
                self.world.bump()
                return
            if content and status == 500:
                return
            await self._maybe_retry(integration, url, message, room, tries)
            return
        reply = parse_reply(content, content_type)
        if isinstance(reply, dict) and (reply.get("text") or reply.get("attachments")):
            self.reply(integration, room, reply, record["payload"])

    async def _maybe_retry(self, integration: Doc, url: str, message: Doc, room: Doc,
                           tries: int) -> None:  # fmt: skip
        if not integration.get("retryFailedCalls"):
            return
        if tries >= int(integration.get("retryCount") or 0) or not integration.get("retryDelay"):
            return
        delay = retry_delay_ms(integration["retryDelay"], tries)
        if delay is None:
            return
        await asyncio.sleep(delay / 1000 * self.runtime.options.retry_scale)
        await self.execute(integration, url, message, room, tries + 1)

    def reply(self, integration: Doc, room: Doc, body: Doc, data: Doc) -> None:
        """triggerHandler `sendMessage`: post the reply as the integration's user."""
        poster = None
        if integration.get("impersonateUser"):
            poster = self.world.user_by_username(data.get("user_name", ""))
        poster = poster or self.world.user_by_username(integration.get("username", ""))
        if poster is None:
            return
        body = {**body, "bot": {"i": integration["_id"]}}
        target = body.get("channel") or body.get("roomId") or integration.get("targetRoom")
        if not target:
            target = f"@{room['_id']}" if room["t"] == "d" else f"#{room['_id']}"
        targets = target if isinstance(target, list) else [target]
        defaults = {k: integration.get(k) for k in ("alias", "avatar", "emoji")}
        try:
            messaging.process_webhook_message(self.world, poster, body, targets, defaults=defaults)
        except MeteorError as error:
            failed = {"integration_id": integration["_id"], "reply_error": error.message}
            self.world.record_delivery({**failed, "ts": now()})
