"""The app factory and `serve()`: uvicorn with the embedded default (a local Ray and SQLite inside this process)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType

import uvicorn
from fastapi import FastAPI

from nndojo import __version__
from nndojo.api import errors, jobs, meta, stream
from nndojo.api.guard import RequestGuard
from nndojo.api.headers import SecurityHeaders
from nndojo.api.pages import mount_pages
from nndojo.config import Settings, get_settings
from nndojo.jobs.manager import JobManager

SHUTDOWN_GRACE_S = 3  # open websockets and requests get this long; then Ray stops; all well inside 10 s
WS_CLOSE_GRACE_S = 2.0  # on SIGTERM, websockets get this long to close themselves with 1001 before uvicorn's shutdown


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whole service; its lifespan starts Ray, the slots and the store, and stops them again."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        manager = JobManager(settings)
        await manager.start()
        app.state.manager = manager
        app.state.closing = asyncio.Event()  # set on SIGTERM: each websocket closes itself with 1001 (serve())
        try:
            yield
        finally:
            await manager.stop()

    app = FastAPI(
        title="NN Dojo",
        version=__version__,
        summary="Design neural networks, train them on the server, watch them learn.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes, body_timeout_s=settings.body_timeout_s)
    errors.install(app)  # the 422 handler, and the 500 boundary around the guard and the routes
    app.add_middleware(SecurityHeaders)  # added last, so outermost: every response carries them, errors included
    app.include_router(meta.router)
    app.include_router(jobs.router)
    app.include_router(stream.router)
    mount_pages(app, settings.resolved_frontend_dir)
    return app


class _Server(uvicorn.Server):
    """uvicorn's server, except that the first SIGTERM or Ctrl-C sets app.state.closing, so that each websocket closes
    itself with 1001 and a reason (uvicorn's own shutdown would close it with 1012, or drop it), and only then starts
    uvicorn's shutdown: once no websocket is open, or after WS_CLOSE_GRACE_S. A second signal exits as uvicorn does."""

    def __init__(self, config: uvicorn.Config, app: FastAPI):
        super().__init__(config)
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None
        self.exiting = False
        self.exit_task: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Runs in the signal handler: hands the websockets' close to the event loop."""
        closing = getattr(self.app.state, "closing", None)
        if self.exiting or self.loop is None or closing is None:
            super().handle_exit(sig, frame)
            return
        self.exiting = True
        self.loop.call_soon_threadsafe(self._close_websockets, closing, sig, frame)

    def _close_websockets(self, closing: asyncio.Event, sig: int, frame: FrameType | None) -> None:
        closing.set()
        self.exit_task = asyncio.get_running_loop().create_task(self._exit_once_closed(sig, frame))

    async def _exit_once_closed(self, sig: int, frame: FrameType | None) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WS_CLOSE_GRACE_S
        while self._websockets_open() and loop.time() < deadline:
            await asyncio.sleep(0.02)
        super().handle_exit(sig, frame)

    def _websockets_open(self) -> bool:
        ws_class = self.config.ws_protocol_class
        return ws_class is not None and any(isinstance(connection, ws_class) for connection in self.server_state.connections)


def serve(settings: Settings | None = None) -> None:
    """`nndojo serve` and `python -m nndojo.api`: blocks until SIGTERM or Ctrl-C, then shuts down cleanly.

    Per connection, memory and time are bounded: request bodies by the guard (size and deadline), idle keep-alive
    connections by keep_alive_s, a request's line and headers by max_header_bytes (h11, which enforces it; httptools
    does not), incoming websocket messages by ws_max_bytes (the page sends none but pings)."""
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        timeout_keep_alive=settings.keep_alive_s,
        http="h11",
        h11_max_incomplete_event_size=settings.max_header_bytes,
        ws_max_size=settings.ws_max_bytes,
        # Compressing each event once per websocket cost more CPU than all else at 100 followers; a classroom LAN has
        # bandwidth to spare, so frames go uncompressed.
        ws_per_message_deflate=False,
        log_level="info",
    )
    _Server(config, app).run()
