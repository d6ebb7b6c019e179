"""Fans a job's new events out to the websockets that follow it, each through its own bounded queue.

Publishing never waits: a subscriber whose queue is full is dropped and told so (its `overflowed` event is set),
and its websocket closes with 1013, so one slow laptop cannot slow the class. A job whose log broke (its final event
could not be stored) aborts its subscribers, whose websockets close with 1011.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from nndojo.jobs.store import StoredEvent


class Subscription:
    def __init__(self, job_id: str, size: int):
        self.job_id = job_id
        self.queue: asyncio.Queue[StoredEvent] = asyncio.Queue(maxsize=size)
        self.overflowed = asyncio.Event()
        self.aborted = asyncio.Event()


class Hub:
    def __init__(self) -> None:
        self._subs: defaultdict[str, set[Subscription]] = defaultdict(set)

    def subscribe(self, job_id: str, size: int) -> Subscription:
        sub = Subscription(job_id, size)
        self._subs[job_id].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.job_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.job_id]

    def publish(self, job_id: str, event: StoredEvent) -> None:
        for sub in list(self._subs.get(job_id, ())):
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                self.unsubscribe(sub)
                sub.overflowed.set()

    def abort(self, job_id: str) -> None:
        for sub in list(self._subs.get(job_id, ())):
            self.unsubscribe(sub)
            sub.aborted.set()

    def count(self, job_id: str) -> int:
        return len(self._subs.get(job_id, ()))
