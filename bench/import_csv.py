"""How long `POST /v1/admin/products/import` takes for a CSV of the export's own rows (issue 6).

Seeds a generated store (postcart seed: 3 variants a product), exports it over HTTP, keeps the header and the
first `--rows` rows, and imports them three times through the whole stack: unchanged (every product
updated, nothing to write), with every price changed, and as new products (slugs and SKUs renamed). Prints
the seconds each import took. Usage: python bench/import_csv.py [--products 10000] [--rows 10000]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

from postcart.auth.passwords import hash_password
from postcart.embedded import EmbeddedCluster
from postcart.migrate import migrate
from run import free_port, post_json, wait_ready

EMAIL, PASSWORD = "import-bench@postcart.dev", "bench-password-1"


def call(base: str, method: str, path: str, token: str, body: str | None = None) -> tuple[int, str]:
    req = urllib.request.Request(base + path, method=method, data=body.encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def as_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=10_000, help="products to seed (3 variants each)")
    parser.add_argument("--rows", type=int, default=10_000, help="rows (variants) per import, at most 10,000")
    args = parser.parse_args()

    cluster = EmbeddedCluster(Path(tempfile.mkdtemp(prefix="postcart-import-bench-")))
    cluster.start()
    server = None
    try:
        migrate(cluster.url())
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            with conn.transaction():
                conn.execute("SET LOCAL ROLE postcart_owner")
                conn.execute("SELECT shop.seed_catalog(%s)", [args.products])
            conn.execute("VACUUM ANALYZE")
            conn.execute("SELECT auth.create_staff(%s, %s, 'Import Bench', ARRAY['catalog_manager'])",
                         [EMAIL, hash_password(PASSWORD)])
        port = free_port()
        env = {**os.environ, "DATABASE_URL": cluster.url(), "POSTCART_LOG_LEVEL": "WARNING",
               "POSTCART_SECRET_KEY": "bench-only-secret-key-0123456789abcdef"}
        server = subprocess.Popen([sys.executable, "-m", "postcart", "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        token = post_json(base + "/v1/auth/login", {"email": EMAIL, "password": PASSWORD})["access_token"]

        status, text = call(base, "GET", "/v1/admin/products/export", token)
        assert status == 200, text[:500]
        rows = list(csv.reader(io.StringIO(text, newline="")))
        header, body = rows[0], rows[1:args.rows + 1]
        price_columns = [n for n, name in enumerate(header) if name.startswith("price_")]
        repriced = [[str(int(cell) + 1) if n in price_columns and cell else cell for n, cell in enumerate(row)]
                    for row in body]
        renamed = [[cell + "-new" if n == 0 else "N" + cell if header[n] == "sku" else cell
                    for n, cell in enumerate(row)] for row in body]
        print(f"seeded {args.products} products; importing {len(body)} rows of the export "
              f"({len({row[0] for row in body})} products)")
        for label, data in (("unchanged", body), ("every price changed", repriced), ("all new", renamed)):
            started = time.monotonic()
            status, text = call(base, "POST", "/v1/admin/products/import", token, as_csv([header, *data]))
            print(f"{label:>20}: {time.monotonic() - started:5.2f} s  {status} {text[:80]}")
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        cluster.destroy()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
