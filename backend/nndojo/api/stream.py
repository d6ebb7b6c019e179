"""WS /api/jobs/{id}/stream: the job's missed events, then its new ones live; closes after the final status.

Order matters for "no gap, no duplicate": subscribe first, then read the backlog, then send live events skipping any
seq already sent. A client whose bounded queue overflows is closed with 1013 (try again later) without slowing others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from nndojo.jobs.hub import Subscription
from nndojo.jobs.manager import JobManager

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
log = logging.getLogger(__name__)

CLOSE_NORMAL = 1000
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_UNKNOWN_JOB = 4404  # application range: the job id does not exist
CLOSE_TIMEOUT_S = 10.0


async def _send_events(ws: WebSocket, manager: JobManager, sub: Subscription, job_id: str, after: int) -> None:
    """Returns after sending the final status event (or at once when the client is already past it)."""
    last = after
    for event in await manager.events_after(job_id, after):
        await ws.send_text(event.data)
        last = event.seq
        if event.final:
            return
    if not manager.exists_active(job_id) and sub.queue.empty():
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


@router.websocket("/{job_id}/stream")
async def stream_job(ws: WebSocket, job_id: str, after: int = -1) -> None:
    manager: JobManager = ws.app.state.manager
    await ws.accept()
    sub = manager.subscribe(job_id)
    tasks: list[asyncio.Task[None]] = []
    try:
        if await manager.get(job_id) is None:
            await ws.close(CLOSE_UNKNOWN_JOB, f"no job with id {job_id!r}"[:120])
            return
        sender = asyncio.create_task(_send_events(ws, manager, sub, job_id, max(after, -1)))
        receiver = asyncio.create_task(_until_disconnect(ws))
        overflow = asyncio.create_task(sub.overflowed.wait())
        tasks = [sender, receiver, overflow]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if sender in done and sender.exception() is None:
            code, reason = CLOSE_NORMAL, "the job finished"
        elif overflow in done and sender not in done:
            code, reason = CLOSE_TRY_AGAIN_LATER, "too slow: more events waited than this server buffers; reconnect with ?after="
        else:
            return  # the client left, or the connection broke while sending
        sender.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(code, reason), CLOSE_TIMEOUT_S)
    finally:
        for task in tasks:
            task.cancel()
        manager.unsubscribe(sub)
