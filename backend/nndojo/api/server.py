"""The app factory and `serve()`: uvicorn with the embedded default (a local Ray and SQLite inside this process)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from nndojo import __version__
from nndojo.api import jobs, meta, stream
from nndojo.api.guard import RequestGuard
from nndojo.api.pages import mount_pages
from nndojo.config import Settings, get_settings
from nndojo.jobs.manager import JobManager

SHUTDOWN_GRACE_S = 3  # open websockets and requests get this long; then Ray stops; all well inside 10 s


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whole service; its lifespan starts Ray, the slots and the store, and stops them again."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        manager = JobManager(settings)
        await manager.start()
        app.state.manager = manager
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
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    app.include_router(meta.router)
    app.include_router(jobs.router)
    app.include_router(stream.router)
    mount_pages(app, settings.resolved_frontend_dir)
    return app


def serve(settings: Settings | None = None) -> None:
    """`nndojo serve` and `python -m nndojo.api`: blocks until SIGTERM or Ctrl-C, then shuts down cleanly."""
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        # Compressing each event once per websocket cost more CPU than all else at 100 followers; a classroom LAN has
        # bandwidth to spare, so frames go uncompressed.
        ws_per_message_deflate=False,
        log_level="info",
    )
