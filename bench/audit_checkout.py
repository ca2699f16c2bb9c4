"""What the audit trail costs a checkout, in database time: checkouts one after another on one connection
(auth.call_api('checkout', ...), as the layer sends it), in rounds alternating the audit triggers off and
on, many short rounds. Reports, per side, the best and the 20th-percentile round of the CPU time the
server process spent per checkout (from /proc, 10 ms ticks: coarse for short rounds) and of the median
wall-clock checkout, and how many audit records one checkout writes. Sequential on purpose: on a
shared machine throughput runs are too noisy to see a few percent (bench/checkout.py --without-audit
gives the throughput view). Needs the server on this machine (the embedded cluster it starts).
Usage: python bench/audit_checkout.py [--rounds 6] [--per-round 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from postcart.embedded import EmbeddedCluster
from postcart.migrate import migrate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checkout import make_carts, prepare_catalog  # noqa: E402 - the checkout bench's fixtures

CHECKOUT = """SELECT auth.call_api('checkout', jsonb_build_object('id', %s::uuid, 'payment_method', 'manual'),
    jsonb_build_object('cart_token_sha256', encode(sha256(('bench-' || %s::text)::bytea), 'hex')), NULL, 'bench')"""
TRIGGERS = """SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE tgname = 'audit_record_change'"""


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def set_audit(conn: psycopg.Connection, on: bool) -> None:
    for (table,) in conn.execute(TRIGGERS).fetchall():
        conn.execute(f"ALTER TABLE {table} {'ENABLE' if on else 'DISABLE'} TRIGGER audit_record_change")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="rounds per side (off and on alternate)")
    parser.add_argument("--per-round", type=int, default=50, help="checkouts per round")
    args = parser.parse_args()

    cluster = EmbeddedCluster(Path(tempfile.mkdtemp(prefix="postcart-bench-")))
    cluster.start()
    try:
        migrate(cluster.url())
        skus = prepare_catalog(cluster.url(), 20)
        with psycopg.connect(cluster.url()) as conn:
            method = conn.execute("SELECT code FROM shop.shipping_options('DE', NULL, 500, 2500, 'EUR') LIMIT 1"
                                  ).fetchone()[0]
        total = 2 * args.rounds * args.per_round
        make_carts(cluster.url(), skus, method, 1, total)
        medians: dict[bool, list[float]] = {False: [], True: []}
        cpu: dict[bool, list[float]] = {False: [], True: []}
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            carts = conn.execute("SELECT n, id FROM public.bench_carts ORDER BY n").fetchall()
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            before = conn.execute("SELECT count(*) FROM audit.records").fetchone()[0]
            audited = 0
            for round_no in range(2 * args.rounds):
                on = round_no % 2 == 1
                set_audit(conn, on)
                times = []
                cpu_before = cpu_seconds(backend)
                for n, cart_id in carts[round_no * args.per_round:(round_no + 1) * args.per_round]:
                    started = time.perf_counter()
                    conn.execute(CHECKOUT, [cart_id, n])
                    times.append((time.perf_counter() - started) * 1000)
                cpu[on].append((cpu_seconds(backend) - cpu_before) * 1000 / args.per_round)
                medians[on].append(statistics.median(times))
                if on:
                    audited += args.per_round
            after = conn.execute("SELECT count(*) FROM audit.records").fetchone()[0]
        for label, figures in (("server CPU per checkout", cpu), ("median checkout, wall clock", medians)):
            # The quickest rounds are the ones other work on the machine disturbed least.
            off, on = sorted(figures[False]), sorted(figures[True])
            best_off, best_on = off[0], on[0]
            quiet_off, quiet_on = off[len(off) // 5], on[len(on) // 5]
            print(f"{label}: best round off {best_off:.2f} ms, on {best_on:.2f} ms "
                  f"(+{100 * (best_on - best_off) / best_off:.1f} %); 20th percentile round off {quiet_off:.2f}, "
                  f"on {quiet_on:.2f} (+{100 * (quiet_on - quiet_off) / quiet_off:.1f} %)")
        print(f"audit records per checkout: {(after - before) / audited:.1f}")
    finally:
        cluster.destroy()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
