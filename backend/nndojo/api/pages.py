"""The pages: frontend/index.html at /, the teacher's dashboard (frontend/teacher.html) at /teacher, their files under
/static, and Plotly from the plotly package (no CDN)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

PLACEHOLDER = """<!doctype html><html lang="en"><meta charset="utf-8"><title>NN Dojo</title>
<h1>NN Dojo</h1><p>The page is not installed here (no frontend/index.html). The API is at <a href="/docs">/docs</a>.</p></html>"""


def plotly_bundle() -> Path | None:
    """plotly/package_data/plotly.min.js, found without importing plotly (which is slow to import)."""
    found = importlib.util.find_spec("plotly")
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(next(iter(found.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


def mount_pages(app: FastAPI, frontend_dir: Path) -> None:
    router = APIRouter(include_in_schema=False)
    index = frontend_dir / "index.html"
    teacher = frontend_dir / "teacher.html"

    def html(path: Path) -> Response:
        return FileResponse(path, media_type="text/html") if path.is_file() else HTMLResponse(PLACEHOLDER)

    @router.get("/", response_class=HTMLResponse, response_model=None)
    async def page() -> Response:
        return html(index)

    @router.get("/teacher", response_class=HTMLResponse, response_model=None)
    async def teacher_page() -> Response:
        """The dashboard asks for the teacher's session itself (its login form), so the page is served to anyone."""
        return html(teacher)

    @router.get("/vendor/plotly.min.js")
    async def plotly() -> FileResponse:
        path = plotly_bundle()
        if path is None:
            raise HTTPException(404, "the plotly package is not installed")
        return FileResponse(path, media_type="text/javascript")

    app.include_router(router)
    if frontend_dir.is_dir():
        app.mount("/static", StaticFiles(directory=frontend_dir), name="static")
