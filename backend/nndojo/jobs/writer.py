"""Batches the server's writes into few transactions, run in a thread so that no commit ever blocks a websocket.

Writes are applied in the order they were queued. `flush()` waits until everything queued so far is committed;
`on_commit` callbacks let the event log forget events it was holding in memory until they were durable.

Commits linger: after the first write of a batch, the writer waits up to `linger_s` for more (a flush cuts the wait
short). Why: a training job emits an event every few ms, and committing each alone cost the server ~9 ms of CPU per
20-epoch job (a thread hop and a SQLite commit per event) that the training slot on the same cores needed. Nothing
waits on a commit to see an event: websockets get it at once, and replays read the uncommitted tail from memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from nndojo.jobs.store import Store, Write

log = logging.getLogger(__name__)


class BatchWriter:
    def __init__(self, store: Store, max_batch: int = 2000, linger_s: float = 0.05):
        self.store = store
        self.max_batch = max_batch
        self.linger_s = linger_s
        self._urgent = asyncio.Event()  # set by flush/close: commit now, without lingering
        self._queue: list[tuple[Write, Callable[[], None] | None]] = []
        self._wake = asyncio.Event()
        self._queued = 0
        self._committed = 0
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="nndojo-db-writer")

    def put(self, write: Write, on_commit: Callable[[], None] | None = None) -> None:
        self._queue.append((write, on_commit))
        self._queued += 1
        self._wake.set()

    async def flush(self) -> None:
        target = self._queued
        if self._committed < target:
            self._urgent.set()
        async with self._progress:
            await self._progress.wait_for(lambda: self._committed >= target or self._task is None or self._task.done())

    async def close(self) -> None:
        await self.flush()
        self._closing = True
        self._urgent.set()
        self._wake.set()
        if self._task is not None:
            await self._task

    def _one_by_one(self, writes: list[Write]) -> None:
        for write in writes:
            try:
                self.store.apply([write])
            except Exception:
                log.exception("could not store %r", write)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if self.linger_s > 0 and not self._urgent.is_set() and len(self._queue) < self.max_batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(), self.linger_s)
            self._urgent.clear()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                try:
                    await asyncio.to_thread(self.store.apply, [write for write, _ in batch])
                except Exception:  # one bad write must not cost the batch: retry them one by one, skip only the bad
                    log.exception("a batch of %d writes failed; storing them one by one", len(batch))
                    await asyncio.to_thread(self._one_by_one, [write for write, _ in batch])
                for _, callback in batch:
                    if callback is not None:
                        callback()
                self._committed += len(batch)
                async with self._progress:
                    self._progress.notify_all()
            if self._closing:
                return
