"""WS /api/jobs/{id}/stream: the job's missed events, then its new ones live; closes after the final status.

Order matters for "no gap, no duplicate": subscribe first, then read the backlog from the store a page at a time (a
replay never holds a whole log in memory), then send live events skipping any seq already sent. Live events are
published only once stored (nndojo.jobs.log), so the backlog and the live tail meet without a hole.

Closing: 1000 after the final status event; 1013 for a client too slow for its bounded queue (reconnect with
?after=); 1001 when the server shuts down; 1011 when the job's events could not be stored; 4401 without a session,
4403 from a foreign Origin, 4404 for a job the caller may not see.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from nndojo.api.access import identify, same_origin
from nndojo.jobs.hub import Subscription
from nndojo.jobs.manager import JobManager

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
log = logging.getLogger(__name__)

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_NO_SESSION = 4401
CLOSE_FOREIGN_ORIGIN = 4403
CLOSE_UNKNOWN_JOB = 4404  # application range: no such job, or not one the caller may see
CLOSE_TIMEOUT_S = 10.0
SEQ_MAX = 2**53
REPLAY_PAGE = 200


async def _send_events(ws: WebSocket, manager: JobManager, sub: Subscription, job_id: str, after: int) -> None:
    """Returns after sending the final status event (or at once when the client is already past it)."""
    last = after
    while True:
        page = await manager.events_page(job_id, last, REPLAY_PAGE)
        for event in page:
            await ws.send_text(event.data)
            last = event.seq
            if event.final:
                return
        if len(page) < REPLAY_PAGE:
            break
    if not manager.is_active(job_id) and sub.queue.empty():
        return  # finished, and the client already has everything up to `after`
    while True:
        event = await sub.queue.get()
        if event.seq <= last:
            continue
        await ws.send_text(event.data)
        last = event.seq
        if event.final:
            return


async def _until_disconnect(ws: WebSocket) -> None:
    """Reads (and ignores) what the client sends, so that a closed tab ends the stream at once."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(code, reason[:120]), CLOSE_TIMEOUT_S)


@router.websocket("/{job_id}/stream")
async def stream_job(ws: WebSocket, job_id: str, after: int = -1) -> None:
    manager: JobManager = ws.app.state.manager
    closing: asyncio.Event = ws.app.state.closing
    await ws.accept()
    if not same_origin(ws):
        await _close(ws, CLOSE_FOREIGN_ORIGIN, "websockets are accepted from this server's own pages only")
        return
    caller = identify(ws)
    if caller is None:
        await _close(ws, CLOSE_NO_SESSION, "log in first: POST /api/session")
        return
    sub = manager.subscribe(job_id[:64])
    tasks: list[asyncio.Task[object]] = []
    try:
        job = await manager.get(job_id[:64])
        if job is None or not caller.can_read(job):
            await _close(ws, CLOSE_UNKNOWN_JOB, f"no job with id {job_id[:64]!r}")
            return
        sender = asyncio.create_task(_send_events(ws, manager, sub, job["id"], min(max(after, -1), SEQ_MAX)))
        receiver = asyncio.create_task(_until_disconnect(ws))
        overflow = asyncio.create_task(sub.overflowed.wait())
        aborted = asyncio.create_task(sub.aborted.wait())
        shutdown = asyncio.create_task(closing.wait())
        tasks = [sender, receiver, overflow, aborted, shutdown]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if sender in done and sender.exception() is None:
            code, reason = CLOSE_NORMAL, "the job finished"
        elif shutdown in done:
            code, reason = CLOSE_GOING_AWAY, "the server is shutting down; reconnect with ?after= when it is back"
        elif overflow in done and sender not in done:
            code, reason = CLOSE_TRY_AGAIN_LATER, "too slow: more events waited than this server buffers; reconnect with ?after="
        elif aborted in done and sender not in done:
            code, reason = CLOSE_INTERNAL, "the server could not store this job's events"
        else:
            return  # the client left, or the connection broke while sending
        sender.cancel()
        await _close(ws, code, reason)
    finally:
        for task in tasks:
            task.cancel()
        manager.unsubscribe(sub)
