"""An HTTP route through the whole stack vs. pgbench sending the layer's own SQL, same cluster, same run.

Scenarios: `me` (GET /v1/me with a valid token: session check, role switch, claims, api.me) and the
anonymous catalog reads `products` (a 20-item list page), `detail` (one product by slug), `search` (varied
queries: typos, exact words, two words, a category or attribute value, nothing, a very common word; each
URL with its own page size, so the app's catalog cache rarely answers) and `filtered` (top-level category
with descendants, a price range, facets). Prints
both throughputs, their ratio (HTTP / pgbench: how close the HTTP layer gets to what the database itself
can do for this request) and wrk's latency percentiles. `--products 100000` seeds a generated catalog
(postcart seed) first, once for all the scenarios given (comma-separated). Usage: python bench/run.py
[--scenario me|products|detail|search|filtered[,...]]
[--products N] [--seconds 10] [--connections 16] [--workers 1] [--pgbench-mode prepared|extended]
Needs wrk (apt-get install wrk) and pgbench (PostgreSQL's, found beside the server binaries).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import psycopg
from psycopg.types.json import Jsonb

from postcart.auth.passwords import hash_password
from postcart.embedded import EmbeddedCluster
from postcart.migrate import migrate

EMAIL, PASSWORD = "bench@postcart.dev", "bench-password-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post_json(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


def start_app(url: str, pool: int, workers: int, **settings: str) -> tuple[subprocess.Popen, str]:
    """`postcart serve` on a free port against `url` with `pool` connections in all, ready; returns the
    process and its base URL. `settings` are more POSTCART_* variables (e.g. POSTCART_RATE_LIMITS="off")."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "POSTCART_POOL_SIZE": str(max(1, pool // workers)),
           "POSTCART_SECRET_KEY": "bench-only-secret-key-0123456789abcdef", "POSTCART_LOG_LEVEL": "WARNING",
           **settings}
    server = subprocess.Popen([sys.executable, "-m", "postcart", "serve", "--port", str(port), "--workers",
                               str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_ready(base)
    return server, base


def wait_ready(base: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/ready") as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not become ready")


# Searches for the `search` scenario: fixed ones for each kind the issue names, then typos and word pairs
# made from the catalog's own words (deterministically).
FIXED_SEARCHES = ["hikng jaket", "jaket", "tshirt", "t-shirt", "hiking jacket", "outerwear", "northwind",
                  "qqqxxzz", "seed", "organic cotton", "merino sweatr", "chelsea boot"]


def varied_searches(conn: psycopg.Connection, count: int = 300) -> list[str]:
    rng = random.Random(6)
    words = [w for (w,) in conn.execute(
        "SELECT s.word FROM shop.search_words AS s WHERE length(s.word) >= 4 AND s.word ~ '^[a-z]+$' ORDER BY s.word")]
    names = [n for (n,) in conn.execute(
        "SELECT DISTINCT lower(l.name) FROM shop.product_listings AS l ORDER BY 1 LIMIT 2000")]

    def typo(word: str) -> str:
        i = rng.randrange(1, len(word) - 1)
        return word[:i] + word[i + 1:] if rng.random() < 0.5 else word[:i] + word[i + 1] + word[i] + word[i + 2:]

    found = list(FIXED_SEARCHES)
    while len(found) < count:
        kind = rng.random()
        if kind < 0.3:
            found.append(typo(rng.choice(words)))
        elif kind < 0.5:
            found.append(rng.choice(words))
        else:
            pair = rng.choice(names).split()[-2:]
            found.append(" ".join(typo(w) if len(w) > 3 and rng.random() < 0.5 else w for w in pair))
    return list(dict.fromkeys(found))


def search_paths(searches: list[str]) -> list[str]:
    """Each search with page sizes 11 to 30, interleaved, so consecutive requests differ."""
    return [f"/v1/products?q={quote(q)}&limit={limit}" for limit in range(11, 31) for q in searches]


def rotating_script(paths: list[str]) -> str:
    """A wrk Lua script sending the paths in turn (each thread from its own offset) and printing p95."""
    listed = ",\n".join(json.dumps(p) for p in paths)
    return f"""local paths = {{
{listed}
}}
local i = 0
function setup(thread)
  thread:set("offset", math.random(1, #paths))
end
function request()
  i = i + 1
  return wrk.format("GET", paths[(offset + i) % #paths + 1])
end
function done(summary, latency, requests)
  io.write(string.format("p95 latency: %.2fms\\n", latency:percentile(95) / 1000))
end
"""


def run_wrk(url: str, token: str | None, seconds: int, connections: int, script: str | None = None) -> float:
    wrk = shutil.which("wrk")
    if not wrk:
        raise SystemExit("wrk not found: apt-get install wrk")
    auth = ["-H", f"Authorization: Bearer {token}"] if token else []
    lua = []
    if script:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(script)
        lua = ["-s", f.name]
    out = subprocess.run([wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *auth, *lua, url],
                         capture_output=True, text=True, check=True).stdout
    print(out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{non2xx.group(1)} requests failed: the benchmark is not measuring {url}")
    latency = {p: m.group(2) + m.group(3) for p in ("50", "90", "99")
               if (m := re.search(rf"^\s+{p}(\.0+)?%\s+([\d.]+)(\w+)", out, re.MULTILINE))}
    if m := re.search(r"p95 latency: ([\d.]+ms)", out):
        latency["95"] = m.group(1)
    print("latency p50 / p90 / p95 / p99:", " / ".join(latency.get(p, "?") for p in ("50", "90", "95", "99")))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def call_script(function: str, args: dict[str, str], session_id: str | None = None) -> str:
    """The one statement db.py sends for a request without an Idempotency-Key (auth.call_api)."""
    literal = json.dumps(args).replace("'", "''")
    session = f"'{session_id}'" if session_id else "NULL"
    return f"SELECT auth.call_api('{function}', '{literal}'::jsonb, NULL, {session}::uuid, 'bench', NULL);\n"


def search_script(conn: psycopg.Connection, paths: list[str]) -> str:
    """pgbench's side of the `search` scenario: the same searches and page sizes, one picked at random per
    transaction from a table of their arguments (a primary-key probe beside the call)."""
    conn.execute("CREATE TABLE public.bench_searches (n integer PRIMARY KEY, args jsonb NOT NULL)")
    with conn.cursor().copy("COPY public.bench_searches (n, args) FROM STDIN") as copy:
        for n, path in enumerate(paths, 1):
            query = parse_qs(urlsplit(path).query)
            copy.write_row((n, json.dumps({"q": query["q"][0], "limit": query["limit"][0]})))
    conn.execute("GRANT SELECT ON public.bench_searches TO postcart_authenticator")
    return (f"\\set n random(1, {len(paths)})\n"
            "SELECT auth.call_api('list_products', (SELECT b.args FROM public.bench_searches AS b WHERE b.n = :n),"
            " NULL, NULL::uuid, 'bench', NULL);\n")


def run_pgbench(cluster: EmbeddedCluster, script: str, seconds: int, connections: int, mode: str) -> float:
    """The statement as db.py sends it, its own implicit transaction: `prepared` is what psycopg does after a
    few uses; `extended` parses and plans it every time (how this benchmark measured before 0021)."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    os.chmod(f.name, 0o644)
    url = cluster.url(user="postcart_authenticator")
    out = subprocess.run([str(cluster.bindir / "pgbench"), "-n", "-M", mode, "-f", f.name,
                          "-c", str(connections), "-j", "2", "-T", str(seconds), "-P", str(seconds),
                          "--latency-limit", "1000", url],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"pgbench failed: {out.stderr.strip()}")
    print(out.stdout)
    return float(re.search(r"tps = ([\d.]+)", out.stdout).group(1))  # type: ignore[union-attr]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="me",
                        help="me, products, detail, search or filtered; several separated by commas share one "
                             "seeded cluster")
    parser.add_argument("--products", type=int, default=0,
                        help="also seed this many generated products (postcart seed) before measuring")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16, help="HTTP connections (wrk)")
    parser.add_argument("--pool", type=int, default=8, help="connections in all = pgbench clients")
    parser.add_argument("--workers", type=int, default=1, help="app processes (postcart serve --workers)")
    parser.add_argument("--pgbench-mode", choices=["prepared", "extended"], default="prepared",
                        help="pgbench's query mode (-M); prepared is what the layer's driver does")
    args = parser.parse_args()
    scenarios = args.scenario.split(",")
    unknown = set(scenarios) - {"me", "products", "detail", "search", "filtered"}
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    data_dir = Path(tempfile.mkdtemp(prefix="postcart-bench-"))
    cluster = EmbeddedCluster(data_dir)
    cluster.start()
    server = None
    try:
        migrate(cluster.url())
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("SELECT shop.load_demo_catalog()")
            if args.products:
                started = time.monotonic()
                with conn.transaction():
                    conn.execute("SET LOCAL ROLE postcart_owner")
                    conn.execute("SELECT shop.seed_catalog(%s)", [args.products])
                conn.execute("VACUUM ANALYZE")
                print(f"seeded {args.products} products in {time.monotonic() - started:.1f} s")
            slug = conn.execute("SELECT slug FROM shop.products WHERE status = 'published'"
                                " ORDER BY published_at DESC, id LIMIT 1 OFFSET 7").fetchone()[0]  # type: ignore[index]
            category = conn.execute("SELECT c.slug FROM shop.categories c WHERE c.parent_id IS NULL"
                                    " ORDER BY c.slug LIMIT 1").fetchone()[0]  # type: ignore[index]
            conn.execute("SELECT api.register(%s, %s)", [Jsonb({"email": EMAIL, "full_name": "Ben Bench"}),
                                                         Jsonb({"password_hash": hash_password(PASSWORD)})])
        port = free_port()
        env = {**os.environ, "DATABASE_URL": cluster.url(), "POSTCART_POOL_SIZE": str(max(1, args.pool // args.workers)),
               "POSTCART_SECRET_KEY": "bench-only-secret-key-0123456789abcdef", "POSTCART_LOG_LEVEL": "WARNING"}
        server = subprocess.Popen([sys.executable, "-m", "postcart", "serve", "--port", str(port),
                                   "--workers", str(args.workers)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        measured = []  # (path, script, HTTP req/s): pgbench runs after the server stops
        for scenario in scenarios:
            if scenario == "me":
                path = "/v1/me"
                token = post_json(base + "/v1/auth/login", {"email": EMAIL, "password": PASSWORD})["access_token"]
                with psycopg.connect(cluster.url(), autocommit=True) as conn:
                    session = conn.execute(
                        "SELECT auth.login_succeeded(a.id, %s, interval '1 hour', 'bench', NULL) FROM auth.accounts a "
                        "WHERE a.email = %s", [os.urandom(32), EMAIL]).fetchone()[0]  # type: ignore[index]
                script = call_script("me", {}, str(session["session_id"]))
            elif scenario == "search":
                with psycopg.connect(cluster.url(), autocommit=True) as conn:
                    paths = search_paths(varied_searches(conn))
                    script = search_script(conn, paths)
                path, token = f"/v1/products?q=... ({len(paths)} searches and page sizes)", None
                measured.append((path, script, run_wrk(base + paths[0], None, args.seconds, args.connections,
                                                       rotating_script(paths))))
                continue
            else:
                reads = {  # scenario: (query string or path, api function, its args)
                    "products": ("/v1/products?limit=20", "list_products", {"limit": "20"}),
                    "detail": (f"/v1/products/{slug}", "get_product", {"id_or_slug": slug}),
                    "filtered": (f"/v1/products?category={category}&min_price=2000&max_price=10000&currency=EUR"
                                 "&limit=20", "list_products", {"category": category, "min_price": "2000",
                                                                "max_price": "10000", "currency": "EUR",
                                                                "limit": "20"}),
                }
                path, function, call_args = reads[scenario]
                token, script = None, call_script(function, call_args)
            measured.append((path, script, run_wrk(base + path, token, args.seconds, args.connections)))
        server.terminate()  # pgbench gets both cores, as the database's own limit
        server.wait()
        server = None
        for path, script, http_rps in measured:
            pg_tps = run_pgbench(cluster, script, args.seconds, args.pool, args.pgbench_mode)
            print(f"GET {path} over HTTP: {http_rps:.0f} req/s ({args.workers} worker(s), {args.connections} connections)")
            print(f"pgbench, same SQL:    {pg_tps:.0f} tx/s (-M {args.pgbench_mode})")
            print(f"ratio HTTP/pgbench:   {http_rps / pg_tps:.2f}")
    finally:
        if server is not None:
            server.terminate()
        cluster.destroy()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
