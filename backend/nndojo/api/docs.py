"""/docs (Swagger UI) and /redoc (ReDoc) with no internet: their scripts and styles come from the installed
fastapi-offline package, not a CDN, and the pages carry no inline script (the CSP allows own-origin script only), so
Swagger UI starts from /docs/swagger-init.js. The API reference for readers is docs/api.md in the repository."""

from __future__ import annotations

import importlib.util
from html import escape
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"

SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="icon" href="{assets}/favicon.png"><link rel="stylesheet" href="{assets}/swagger-ui.css">
</head><body><div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script><script src="{init}"></script></body></html>
"""

REDOC_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="icon" href="{assets}/favicon.png"></head>
<body><redoc spec-url="{openapi}"></redoc><script src="{assets}/redoc.standalone.js"></script></body></html>
"""

# Swagger UI's settings as FastAPI's own /docs has them, less the online validator; the OpenAPI address comes from the
# page's markup.
SWAGGER_INIT = """const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
});
"""


def assets_dir() -> Path | None:
    """fastapi_offline/static (swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js), found without importing it."""
    found = importlib.util.find_spec("fastapi_offline")
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(next(iter(found.submodule_search_locations))) / "static"
    return path if (path / "swagger-ui-bundle.js").is_file() else None


def mount_docs(app: FastAPI) -> None:
    """Adds /docs, /redoc and their files; the app must be built with docs_url=None and redoc_url=None."""
    router = APIRouter(include_in_schema=False)

    def page(template: str, request: Request, title: str) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return HTMLResponse(
            template.format(
                title=escape(f"{app.title} - {title}"),
                assets=escape(root + ASSETS),
                init=escape(root + "/docs/swagger-init.js"),
                openapi=escape(root + (app.openapi_url or "/openapi.json")),
            )
        )

    @router.get("/docs", response_class=HTMLResponse)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return page(SWAGGER_PAGE, request, "Swagger UI")

    @router.get("/docs/swagger-init.js")
    async def swagger_init() -> Response:
        return Response(SWAGGER_INIT, media_type="text/javascript")

    @router.get("/redoc", response_class=HTMLResponse)
    async def redoc(request: Request) -> HTMLResponse:
        return page(REDOC_PAGE, request, "ReDoc")

    app.include_router(router)
    assets = assets_dir()
    if assets is not None:
        app.mount(ASSETS, StaticFiles(directory=assets), name="docs-assets")
