"""The API explorer at /docs: Swagger UI, from the swagger_ui_bundle package, reading /openapi.json.

Everything the page loads comes from this server: the page itself, Swagger UI's script and stylesheet
(served from the installed package, never a CDN) and the script that starts it (a file, not inline, so
the page keeps a strict Content-Security-Policy). "Try it out" calls the API on the same server; the
Authorize button takes an access token for the bearer scheme /openapi.json declares.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from aiohttp import web
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs/assets"
_HERE = files("postcart.http")
# Only what the page uses is served: not the bundle's demo page, which points at a public example API.
_FILES: dict[str, Path] = {
    "swagger-ui.css": Path(str(swagger_ui_path)) / "swagger-ui.css",
    "swagger-ui-bundle.js": Path(str(swagger_ui_path)) / "swagger-ui-bundle.js",
    "favicon-32x32.png": Path(str(swagger_ui_path)) / "favicon-32x32.png",
    "explorer.js": Path(str(_HERE.joinpath("explorer.js"))),
}
# Scripts and styles from this server only, no inline script; Swagger UI's icons are data: images,
# and "try it out" talks to this server. The page may not be framed.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# The page and assets change only with the installed version: browsers revalidate (ETag) and get 304.
_CACHE = "no-cache"


async def page(request: web.Request) -> web.Response:
    html = _HERE.joinpath("explorer.html").read_text(encoding="utf-8")
    return web.Response(text=html, content_type="text/html",
                        headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": _CACHE})


async def asset(request: web.Request) -> web.StreamResponse:
    path = _FILES.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Cache-Control": _CACHE})


def add_routes(app: web.Application) -> None:
    """Serve the explorer at /docs and what it loads under /docs/assets/."""
    app.router.add_get("/docs", page)
    app.router.add_get(ASSETS + "/{name}", asset)
