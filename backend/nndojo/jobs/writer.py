"""Batches the server's writes into few transactions, run in a thread so that no commit ever blocks a websocket.

Writes are applied in the order they were queued, and each one's `on_commit(ok)` is called in that order once its
transaction is durable (ok=True) or has finally failed (ok=False). The event log sends an event to clients only from
that callback, so a client never sees an event that a crash could take back.

- Lingering: after the first write of a batch the writer waits up to `linger_s` for more (a flush cuts the wait
  short). A training job emits an event every few ms; a commit each cost the server CPU that training slots need.
- Retries: a batch that fails is retried write by write, each up to `attempts` times with a growing pause; only a
  write that still fails is reported (ok=False): nothing is dropped silently.
- Bounded: at most `max_bytes` of event text wait in the queue. Producers that can wait (the worker event socket)
  await `room()`, which holds them (and, through TCP, the workers) back instead of letting memory grow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from nndojo.jobs.store import InsertEvent, PutWeights, Store, Write

log = logging.getLogger(__name__)

OnCommit = Callable[[bool], None]


def _size(write: Write) -> int:
    if isinstance(write, InsertEvent):
        return len(write.data) + len(write.metrics or "")
    return len(write.data) if isinstance(write, PutWeights) else 256


class BatchWriter:
    def __init__(
        self,
        store: Store,
        max_batch: int = 2000,
        linger_s: float = 0.02,
        max_bytes: int = 64 * 1024 * 1024,
        attempts: int = 3,
        retry_pause_s: float = 0.2,
    ):
        self.store = store
        self.max_batch = max_batch
        self.linger_s = linger_s
        self.max_bytes = max_bytes
        self.attempts = attempts
        self.retry_pause_s = retry_pause_s
        self._urgent = asyncio.Event()  # set by flush/close: commit now, without lingering
        self._queue: list[tuple[Write, OnCommit | None]] = []
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._bytes = 0
        self._queued = 0
        self._committed = 0
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="nndojo-db-writer")

    def put(self, write: Write, on_commit: OnCommit | None = None) -> None:
        self._queue.append((write, on_commit))
        self._queued += 1
        self._bytes += _size(write)
        if self._bytes >= self.max_bytes:
            self._room.clear()
        self._wake.set()

    async def room(self) -> None:
        """Returns once the queue is below its byte bound."""
        await self._room.wait()

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

    def _apply_each(self, writes: list[Write]) -> list[bool]:
        """After a failed batch: each write alone, retried with a growing pause; True where it was stored."""
        results = []
        for write in writes:
            for attempt in range(self.attempts):
                try:
                    self.store.apply([write])
                    results.append(True)
                    break
                except Exception:
                    if attempt == self.attempts - 1:
                        log.exception("could not store %s after %d attempts", type(write).__name__, self.attempts)
                        results.append(False)
                    else:
                        time.sleep(self.retry_pause_s * (attempt + 1))
        return results

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
                writes = [write for write, _ in batch]
                try:
                    await asyncio.to_thread(self.store.apply, writes)
                    results = [True] * len(batch)
                except Exception:  # one bad write must not cost the batch: store them one by one
                    log.exception("a batch of %d writes failed; storing them one by one", len(batch))
                    results = await asyncio.to_thread(self._apply_each, writes)
                for (write, callback), ok in zip(batch, results, strict=True):
                    self._bytes -= _size(write)
                    if callback is not None:
                        try:
                            callback(ok)
                        except Exception:
                            log.exception("a commit callback failed")
                if self._bytes < self.max_bytes:
                    self._room.set()
                self._committed += len(batch)
                async with self._progress:
                    self._progress.notify_all()
            if self._closing:
                return
