"""Service routes and the layer's own error paths."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from .conftest import Client

# Headless Chromium as the machine notes say it works here: no sandbox as root, nothing fetched in the
# background (the network is closed), a fresh profile per run.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--log-level=0"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium when run as root")
    pytest.skip("Chromium is not installed (`make test` installs Debian's chromium when run as root)")


def browse(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Load a page in headless Chromium; stderr carries the page's console (CSP violations included)."""
    profile = tmp_path / f"profile-{uuid.uuid4().hex[:8]}"
    return subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                           "--virtual-time-budget=20000", *args, url],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_health(api: Client) -> None:
    r = api.get("/health")
    assert r.status == 200 and r.json == {"status": "ok"}


def test_ready(api: Client) -> None:
    r = api.get("/ready")
    assert r.status == 200 and r.json == {"status": "ready"}


def test_request_id_is_echoed_or_generated(api: Client) -> None:
    given = api.get("/health", headers={"X-Request-Id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = api.get("/health")
    assert len(made.headers["x-request-id"]) == 32
    bad = api.get("/health", headers={"X-Request-Id": "no spaces allowed"})
    assert bad.headers["x-request-id"] != "no spaces allowed"


def test_request_id_reaches_the_log(api: Client) -> None:
    rid = uuid.uuid4().hex
    api.get("/v1/products?limit=1", headers={"X-Request-Id": rid})
    deadline = time.monotonic() + 5  # the access line is written just after the response is sent
    while f"[{rid}]" not in api.log_path.read_text() and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.05)
    lines = [line for line in api.log_path.read_text().splitlines() if f"[{rid}]" in line]  # type: ignore[attr-defined]
    assert any('"GET /v1/products?limit=1"' in line for line in lines), lines


def test_unknown_path_is_json_404(api: Client) -> None:
    r = api.get("/v1/nope")
    assert r.status == 404 and r.error_code == "not_found"
    assert set(r.json["error"]) == {"code", "message", "details"}


def test_wrong_method_is_json_405(api: Client) -> None:
    r = api.delete("/v1/products")
    assert r.status == 405 and r.error_code == "method_not_allowed"
    assert "GET" in r.json["error"]["details"]["allowed"]


def test_malformed_json_is_400(api: Client) -> None:
    r = api.post("/v1/auth/register", raw=b'{"email": ', headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.error_code == "invalid_json"
    r = api.post("/v1/auth/register", json_body=[1, 2])
    assert r.status == 400 and r.error_code == "invalid_json"


def test_body_over_the_limit_is_413(api: Client) -> None:
    big = b'{"email": "' + b"x" * (70 * 1024) + b'"}'
    r = api.post("/v1/auth/register", raw=big, headers={"Content-Type": "application/json"})
    assert r.status == 413 and r.error_code == "payload_too_large"


def test_bad_token_is_401(api: Client) -> None:
    r = api.get("/v1/me", token="not-a-token")
    assert r.status == 401 and r.error_code == "invalid_token"
    r = api.get("/v1/me", headers={"Authorization": "Basic abc"})
    assert r.status == 401 and r.error_code == "invalid_token"


def test_openapi_documents_every_route(api: Client) -> None:
    from postcart.http.routes import ROUTES

    r = api.get("/openapi.json")
    assert r.status == 200
    spec = r.json
    assert spec["openapi"].startswith("3.1")
    for route in ROUTES:
        op = spec["paths"][route.path][route.method.lower()]
        assert op["summary"], route.path
        assert str(route.status) in op["responses"]
        if route.request is not None:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.split("/")[-1] in spec["components"]["schemas"]


def test_openapi_descriptions_come_from_function_comments(api: Client, admin) -> None:
    comment = admin.execute("SELECT obj_description('api.me(jsonb)'::regprocedure, 'pg_proc')").fetchone()[0]
    spec = api.get("/openapi.json").json
    assert spec["paths"]["/v1/me"]["get"]["description"].startswith(comment.strip())


def test_docs_page_is_strict_and_self_contained(api: Client) -> None:
    r = api.get("/docs")
    assert r.status == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    # Every script is a file from this server: nothing inline, nothing from elsewhere.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.S)
    assert scripts and all(body.strip() == "" and 'src="/docs/assets/' in attrs for attrs, body in scripts)
    assert not re.search(r"(src|href)=\"(https?:)?//", r.text)
    for src in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', r.text):
        asset = api.request("HEAD", src)
        assert asset.status == 200 and int(asset.headers["content-length"]) > 100, src
    assert api.get("/docs/assets/index.html").status == 404  # the bundle's demo page is not served


def test_docs_page_renders_the_spec(api: Client, tmp_path: Path) -> None:
    """Swagger UI, in a real browser, renders every path of /openapi.json with an Authorize button."""
    url = f"http://127.0.0.1:{api.port}/docs"
    run = browse(tmp_path, url, "--dump-dom")
    dom = run.stdout
    assert 'class="swagger-ui"' in dom and "Unable to render" not in dom, dom[-2000:]
    spec = api.get("/openapi.json").json
    rendered = set(re.findall(r'class="opblock-summary-path" data-path="([^"]+)"', dom))
    assert rendered == set(spec["paths"])
    assert "btn authorize" in dom  # from the bearer security scheme
    assert "validator.swagger.io" not in dom
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert not [line for line in console if "Content Security Policy" in line or "Failed to load" in line], console
    # A picture of the page, for a human to look at when this fails.
    shot = tmp_path / "docs.png"
    browse(tmp_path, url, f"--screenshot={shot}", "--window-size=1280,1600", "--hide-scrollbars")
    assert shot.exists() and shot.stat().st_size > 20_000


class DevTools:
    """Just enough of the Chrome DevTools Protocol to drive one page: commands, evaluate JavaScript, wait for a
    state. `console` collects the browser's log lines (the page's console, CSP violations included)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, console: list[str]):
        self.ws = ws
        self.last_id = 0
        self.console = console

    async def command(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.last_id += 1
        await self.ws.send_json({"id": self.last_id, "method": method, "params": params or {}})
        async for message in self.ws:
            answer = json.loads(message.data)
            if answer.get("id") == self.last_id:  # anything else is an event
                assert "error" not in answer, answer["error"]
                return answer["result"]
        raise RuntimeError("the browser closed the connection")

    async def js(self, expression: str) -> Any:
        result = await self.command("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                         "awaitPromise": True})
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    async def wait_for(self, expression: str, seconds: float = 30) -> Any:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = await self.js(expression)
            if value:
                return value
            await asyncio.sleep(0.1)
        raise TimeoutError(expression)


@contextlib.asynccontextmanager
async def open_tab(url: str, profile: Path, *args: str) -> AsyncIterator[DevTools]:
    """Headless Chromium showing url, driven through the DevTools protocol; its log is read all along, so a
    chatty browser never blocks on a full pipe."""
    proc = await asyncio.create_subprocess_exec(
        chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", *args, url,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    console: list[str] = []
    reader = None
    try:
        assert proc.stderr is not None
        while not (line := (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()).startswith("DevTools"):
            assert line, "Chromium exited before listening"
            console.append(line)
        devtools_port = re.search(r"ws://[^:]+:(\d+)/", line).group(1)  # type: ignore[union-attr]

        async def read_log(stream: asyncio.StreamReader) -> None:
            while line := await stream.readline():
                console.append(line.decode(errors="replace"))

        reader = asyncio.create_task(read_log(proc.stderr))
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{devtools_port}/json/list") as r:
                page = next(t for t in await r.json() if t["type"] == "page")
            async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                yield DevTools(ws, console)
    finally:
        proc.kill()
        await proc.wait()
        if reader is not None:
            await reader


async def _try_it_out(url: str, profile: Path, token: str) -> dict[str, Any]:
    """In Swagger UI at url: Authorize with the token, then Try it out and Execute GET /v1/me."""
    async with open_tab(url, profile) as tab:
        await tab.wait_for("document.querySelectorAll('.opblock').length > 0")
        # Authorize: the dialog of the bearer scheme, filled in as a user types.
        await tab.js("document.querySelector('.btn.authorize').click()")
        await tab.wait_for("!!document.querySelector('.modal-ux input')")
        await tab.js(f"""(() => {{
            const input = document.querySelector('.modal-ux input');
            const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
            setValue.call(input, {json.dumps(token)});  // as typing does, so React sees it
            input.dispatchEvent(new Event('input', {{bubbles: true}}));
            document.querySelector('.modal-ux .auth-btn-wrapper .authorize').click();
        }})()""")
        await tab.wait_for("!!document.querySelector('.modal-ux .auth-btn-wrapper .btn-done')")
        await tab.js("document.querySelector('.modal-ux .auth-btn-wrapper .btn-done').click()")
        # GET /v1/me: open it, Try it out, Execute.
        op = "document.querySelector('#operations-accounts-me')"
        await tab.js(f"{op}.querySelector('.opblock-summary-control').click()")
        await tab.wait_for(f"!!{op}.querySelector('.try-out__btn')")
        await tab.js(f"{op}.querySelector('.try-out__btn').click()")
        await tab.wait_for(f"!!{op}.querySelector('.execute')")
        await tab.js(f"{op}.querySelector('.execute').click()")
        status = await tab.wait_for(
            f"{op}.querySelector('.live-responses-table tbody .response-col_status')?.innerText.trim()")
        body = await tab.js(f"{op}.querySelector('.live-responses-table tbody .response-col_description pre')"
                            ".innerText")
        return {"status": status, "body": body}


def test_docs_try_it_out_calls_this_server_with_the_token(api: Client, tmp_path: Path) -> None:
    email = f"explorer-{uuid.uuid4().hex[:8]}@example.com"
    password = "explorer-password-1"
    assert api.post("/v1/auth/register", {"email": email, "password": password, "full_name": "Ex Plorer"}).status == 201
    token = api.post("/v1/auth/login", {"email": email, "password": password}).json["access_token"]
    result = asyncio.run(_try_it_out(f"http://127.0.0.1:{api.port}/docs", tmp_path / "profile", token))
    assert result["status"] == "200", result
    assert json.loads(result["body"])["email"] == email


def test_ready_is_503_until_migrated(admin, admin_url: str) -> None:
    """A server pointed at a database that was never migrated is alive but not ready."""
    import os
    import subprocess
    import sys
    from urllib.parse import urlsplit, urlunsplit

    from .conftest import SECRET, free_port

    name = "postcart_unmigrated_" + uuid.uuid4().hex[:6]
    admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "POSTCART_SECRET_KEY": SECRET}
    proc = subprocess.Popen([sys.executable, "-m", "postcart", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = Client(port)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if client.get("/health").status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        ready = client.get("/ready")
        assert ready.status == 503 and ready.error_code == "migrations_pending"
        assert "0001_roles_and_schemas" in ready.json["error"]["details"]["pending"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
