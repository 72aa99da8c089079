"""Messages from the stream and from back-fills, handled in order on a worker thread.

The connection loop (:mod:`bot.realtime.client`) only reads frames; every chat message goes
into this pipeline's queue and one worker hands it to :meth:`bot.chat.messages.ChatListener.handle`
through ``asyncio.to_thread`` (the store is synchronous), so pings are answered while a commit
waits for the disk. Whatever is already queued goes to the thread in one hop, and the commands
of that hop are stored in one transaction (``Ingestor.batch()``); the cursors move only after
that commit.

That commit does not wait for the disk (``batch(durable=False)``: no fsync between a message
and its reply). Rocket.Chat keeps the messages, and the cursors that say how far they were
handled are made durable at most ``flush_every`` later (``CursorBook.flush``: written light,
then the WAL is synced and checkpointed beside the writers, which covers the earlier commits
too; :func:`rules.store.cursors.save_cursors_durably`): a crash of the process loses
nothing, and a power cut before that makes the back-fill fetch those messages again. Their
replies then get the same chat ids (derived from the message,
``bot.rest.endpoint.reply_message_id``), so a reply already posted is not posted twice.

During a back-fill, live messages are **held** and queued after the back-filled ones, so the
per-room cursors only move forward. A message that cannot be handled (the store is down, say)
leaves the cursors from before it as the next back-fill start and calls ``on_failure`` (the
client then reconnects), so it is fetched again instead of being skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.chat.messages import ChatListener, message_key
from bot.realtime.cursors import CursorBook
from bot.rest.ejson import ejson_date

log = logging.getLogger(__name__)

WORKER_BATCH = 100  # queued messages handed to the worker thread at once
Item = tuple[str, Any, Any]  # ("live", message, meta) or ("backfill", [messages], None)


class MessagePipeline:
    def __init__(self, listener: ChatListener, cursors: CursorBook, *,
                 flush_every: float = 1.0) -> None:
        self.listener = listener
        self.cursors = cursors
        self.flush_every = flush_every
        self.on_failure: Callable[[], Awaitable[None]] | None = None
        self._queue: asyncio.Queue[Item] = asyncio.Queue()
        self._held: list[Item] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the worker and the cursor writer on the running loop (fresh queue per start:
        asyncio objects belong to the loop that first uses them)."""
        self._queue, self._held = asyncio.Queue(), None
        self._tasks = [asyncio.create_task(self._worker(), name="realtime-worker"),
                       asyncio.create_task(self._flusher(), name="realtime-cursors")]

    async def stop(self, drain_timeout: float) -> None:
        """Finish what was already received (bounded), then save the cursors."""
        self.release()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), drain_timeout)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.to_thread(self.cursors.flush)

    async def join(self) -> None:
        await self._queue.join()

    # -- feeding ----------------------------------------------------------------------------

    def live(self, message: Any, meta: Any) -> None:
        item: Item = ("live", message, meta)
        if self._held is not None:
            self._held.append(item)
        else:
            self._queue.put_nowait(item)

    def hold(self) -> None:
        """Live messages wait from now until :meth:`release` (a back-fill is coming)."""
        if self._held is None:
            self._held = []

    def release(self, backfill: list[dict[str, Any]] | None = None) -> None:
        """Queue the back-filled messages (if any), then the live ones held meanwhile."""
        held, self._held = self._held or [], None
        if backfill:
            self._queue.put_nowait(("backfill", backfill, None))
        for item in held:
            self._queue.put_nowait(item)

    # -- the worker -------------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < WORKER_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                handled = await asyncio.to_thread(self.handle_batch, batch)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if not handled and self.on_failure is not None:
                await self.on_failure()

    def handle_batch(self, batch: list[Item]) -> bool:
        """Handle messages in order, their commands committed together; False on a failure
        (nothing of the batch counts as handled: a back-fill fetches it again)."""
        messages = [(kind, msg, meta) for kind, payload, meta in batch
                    for msg in (payload if kind == "backfill" else [payload])
                    if isinstance(msg, dict) and msg.get("_id")]
        current: dict[str, Any] = {}
        try:
            with self.listener.batch(durable=False):
                for kind, msg, meta in messages:
                    current = msg
                    self.listener.handle(msg, meta,
                                         path="realtime" if kind == "live" else "backfill")
        except Exception:
            log.exception("realtime: message %s could not be handled; it and the %d others "
                          "of its batch are fetched again after a reconnect",
                          current.get("_id"), len(messages) - 1)
            # the listener remembered keys whose commit did not happen: the back-fill must
            # not take those messages for copies of handled ones (the store's once-only keys
            # still drop the ones that were committed before a chat command)
            self.listener.forget(message_key(msg) for _, msg, _ in messages)
            self.cursors.mark_gap()
            return False
        for _, msg, _ in messages:
            self._advance(msg)
        return True

    def _advance(self, msg: dict[str, Any]) -> None:
        ts = ejson_date(msg.get("ts"))
        if ts is not None and msg.get("rid"):
            room = self.listener.rooms.get(str(msg["rid"]))
            self.cursors.advance(str(msg["rid"]), ts, str(msg["_id"]), room.type)

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(self.flush_every)
            try:
                await asyncio.to_thread(self.cursors.flush)
            except Exception:
                log.exception("realtime: cursors could not be saved (will retry)")
