"""The staff dashboard at /admin/dashboard: a page that signs a staff member in (POST /v1/auth/login) and
draws the reports of GET /v1/admin/reports/{name} with Chart.js.

Chart.js is vendored in static/ (its licence beside it; docs/dashboard.md says how to update it) and
served from here, never a CDN. The page runs no inline script, so it keeps a strict Content-Security-Policy
(explorer.PAGE_CSP); the token stays in the page's memory and is sent only as a bearer header.
"""

from __future__ import annotations

from importlib.resources import files

from aiohttp import web

from .explorer import PAGE_CSP

PAGE = "/admin/dashboard"
ASSETS = PAGE + "/assets"
_STATIC = files("postcart.http").joinpath("static")
# Only these files are served, by name: nothing else under static/ is reachable.
_FILES = {"chart.umd.min.js", "chart.js-LICENSE.md", "dashboard.js", "dashboard.css"}
_CACHE = "no-cache"  # revalidated (ETag) and current with the installed version


async def page(request: web.Request) -> web.Response:
    html = _STATIC.joinpath("dashboard.html").read_text(encoding="utf-8")
    return web.Response(text=html, content_type="text/html",
                        headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": _CACHE})


async def asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in _FILES:
        raise web.HTTPNotFound()
    return web.FileResponse(str(_STATIC.joinpath(name)), headers={"Cache-Control": _CACHE})


def add_routes(app: web.Application) -> None:
    """Serve the dashboard at /admin/dashboard and what it loads under /admin/dashboard/assets/."""
    app.router.add_get(PAGE, page)
    app.router.add_get(ASSETS + "/{name}", asset)
