"""The app factory and `serve()`: uvicorn with the embedded default (a local Ray and SQLite inside this process)."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType

import uvicorn
from fastapi import FastAPI

from nndojo import __version__
from nndojo.api import classes, datasets, errors, export, jobs, lessons, meta, session, stream
from nndojo.api.docs import mount_docs
from nndojo.api.guard import RequestGuard
from nndojo.api.headers import SecurityHeaders
from nndojo.api.http11 import H11WithHeadDeadline
from nndojo.api.pages import mount_pages
from nndojo.classroom.service import Classroom
from nndojo.classroom.store import ClassroomStore
from nndojo.config import Settings, get_settings
from nndojo.db.engine import open_engine
from nndojo.jobs.manager import JobManager
from nndojo.lock import DataDirBusy, lock_data_dir
from nndojo.uploads.service import Uploads
from nndojo.uploads.store import UploadStore

SHUTDOWN_GRACE_S = 3  # open websockets and requests get this long; then Ray stops; all well inside 10 s
RAY_TOKEN_NOTICE = "ray._private.authentication.authentication_token_setup"  # the logger of Ray's token-auth notice
WS_CLOSE_GRACE_S = 2.0  # on SIGTERM, websockets get this long to close themselves with 1001 before uvicorn's shutdown


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whole service; its lifespan starts Ray, the slots and the store, and stops them again."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = await asyncio.to_thread(open_engine, settings.resolved_database_url)  # migrates an older schema first
        classroom_store = await asyncio.to_thread(ClassroomStore, engine)
        app.state.classroom = await asyncio.to_thread(Classroom, settings, classroom_store)
        app.state.uploads = await asyncio.to_thread(Uploads, UploadStore(engine))
        manager = JobManager(settings, engine, classroom_store.name_of, classroom_store.label_of)
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
        docs_url=None,  # served by mount_docs, from a package's files instead of a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.add_middleware(
        RequestGuard,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
        max_pending_body_bytes=settings.max_pending_body_bytes,
        upload_paths={"/api/datasets": settings.max_upload_bytes},
    )
    errors.install(app)  # the 422 handler, and the 500 boundary around the guard and the routes
    app.add_middleware(SecurityHeaders)  # added last, so outermost: every response carries them, errors included
    app.include_router(meta.router)
    app.include_router(session.router)
    app.include_router(classes.router)
    app.include_router(jobs.router)
    app.include_router(export.router)
    app.include_router(datasets.router)
    app.include_router(stream.router)
    app.include_router(lessons.router)
    mount_docs(app)
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
        if sockets is not None and self.started:  # uvicorn names the address only for sockets it bound itself
            self._log_started_message(sockets)

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

    Per connection, memory and time are bounded: a request's head by max_header_bytes (h11, which enforces it;
    httptools does not) and by keep_alive_s (H11WithHeadDeadline: idle, silent and stalled connections alike), its body
    by the guard (max_body_bytes and body_timeout_s; max_pending_body_bytes for all bodies at once), incoming websocket
    messages by ws_max_bytes (the page sends none but pings)."""
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        data_dir_lock = lock_data_dir(settings.data_dir, settings.port, settings.host)  # before the store or Ray touch it
        listener = listen(settings.host, settings.port)  # a busy port is said now, not after Ray has started
    except (DataDirBusy, PortBusy) as exc:
        raise SystemExit(f"error: {exc}") from None
    if not settings.ray_address:
        # The embedded Ray turns its token auth on by itself and says so at every start: nothing to do, so not said.
        logging.getLogger(RAY_TOKEN_NOTICE).setLevel(logging.ERROR)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        timeout_keep_alive=settings.keep_alive_s,
        http=H11WithHeadDeadline,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        ws_max_size=settings.ws_max_bytes,
        # Compressing each event once per websocket cost more CPU than all else at 100 followers; a classroom LAN has
        # bandwidth to spare, so frames go uncompressed.
        ws_per_message_deflate=False,
        log_level="info",
    )
    try:
        _Server(config, app).run(sockets=[listener])
    finally:
        data_dir_lock.release()


class PortBusy(RuntimeError):
    """The port cannot be listened on (taken, or not allowed)."""


def listen(host: str, port: int) -> socket.socket:
    """The server's listening socket, bound here so that a taken port is found before anything starts."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a restart need not wait out TIME_WAIT
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc)).lower()
        raise PortBusy(f"cannot listen on {host}:{port} ({reason}): choose another port with --port or NNDOJO_PORT") from None
    return sock
