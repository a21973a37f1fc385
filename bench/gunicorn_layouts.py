"""Which gunicorn worker class and counts serve new and returning users best here: side by side, one run.

    .venv/bin/python bench/gunicorn_layouts.py                   # every layout, 5 rounds
    .venv/bin/python bench/gunicorn_layouts.py --rounds 2 --tiny  # a check that it runs (the test suite)

Every layout's gunicorn (``gunicorn.conf.py`` with its ``GUNICORN_*`` variables) runs at once, against
one freshly migrated scratch database (``BENCH_DATABASE_URL`` with ``_layouts`` appended), with the
issuer, tokens and load generator of ``load_new_users.py``. Each round gives every layout, in an order
that turns round by round, a batch of new users and then a batch of returning calls from 32 clients,
so that every layout meets the same machine load; the table gives the median over the rounds of each
batch's figures, and the CPU time the layout's workers spent per new user and per returning call.
"""

import argparse
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

from load_new_users import CLIENTS, Issuer, cpu_seconds, migrate, rss_mb, run_clients, start_server
from scratch import drop_database, scratch_url, sibling_url

LAYOUTS = {
    "sync x 2": {"GUNICORN_WORKER_CLASS": "sync", "GUNICORN_WORKERS": "2"},
    "sync x 4": {"GUNICORN_WORKER_CLASS": "sync", "GUNICORN_WORKERS": "4"},
    "gthread 2 x 2": {"GUNICORN_WORKER_CLASS": "gthread", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "2"},
    "gthread 2 x 4": {"GUNICORN_WORKER_CLASS": "gthread", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4"},
    "gthread 4 x 4": {"GUNICORN_WORKER_CLASS": "gthread", "GUNICORN_WORKERS": "4", "GUNICORN_THREADS": "4"},
}
NEW_USERS_PER_BATCH, RETURNING_PER_BATCH = 100, 300
TINY_NEW_USERS, TINY_RETURNING, TINY_CLIENTS = 4, 8, 2
# With --tiny: one layout of each worker class, enough to show the script still runs.
TINY_LAYOUTS = ("sync x 2", "gthread 2 x 4")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="tiny batches: check that it runs, not speed")
    args = parser.parse_args()
    new_count, returning_count, clients = (
        (TINY_NEW_USERS, TINY_RETURNING, TINY_CLIENTS)
        if args.tiny
        else (NEW_USERS_PER_BATCH, RETURNING_PER_BATCH, CLIENTS)
    )
    layouts = {name: LAYOUTS[name] for name in (TINY_LAYOUTS if args.tiny else LAYOUTS)}
    # Run the servers with production settings and nothing of this shell's server settings.
    for name in [name for name in os.environ if name.startswith("GUNICORN_")]:
        del os.environ[name]
    database_url = sibling_url(scratch_url(), "layouts")
    migrate(database_url)
    issuer = Issuer()
    figures: dict[str, dict[str, list[float]]] = {name: {} for name in layouts}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="aether-layouts-") as directory:
        servers = {
            name: start_server(database_url, issuer, Path(directory) / f"{number}.log", **variables)
            for number, (name, variables) in enumerate(layouts.items())
        }
        try:
            for name, server in servers.items():  # warm-up: imports, connections, the JWKS
                run_clients(server.port, [issuer.access_token(f"warm-{name}")] * clients * 2, clients)
            for round_number in range(args.rounds):
                names = list(layouts)
                turn = round_number % len(names)
                for name in names[turn:] + names[:turn]:
                    server = servers[name]
                    workers = server.workers()
                    tag = uuid.uuid4().hex[:8]
                    tokens = [issuer.access_token(f"layout-{tag}-{n}") for n in range(new_count)]
                    cpu = cpu_seconds(workers)
                    new = run_clients(server.port, tokens, clients)
                    new_cpu = cpu_seconds(workers) - cpu
                    returning = run_clients(
                        server.port, [tokens[n % new_count] for n in range(returning_count)], clients
                    )
                    returning_cpu = cpu_seconds(workers) - cpu - new_cpu
                    record = figures[name]
                    for key, value in {
                        "new/s": new.per_second,
                        "new p50": new.percentile(0.5),
                        "new p99": new.percentile(0.99),
                        "new CPU ms": 1000 * new_cpu / new_count,
                        "returning/s": returning.per_second,
                        "returning p99": returning.percentile(0.99),
                        "returning CPU ms": 1000 * returning_cpu / returning_count,
                        "errors": sum(new.errors.values()) + sum(returning.errors.values()),
                    }.items():
                        record.setdefault(key, []).append(value)
                print(f"round {round_number + 1} of {args.rounds} done", file=sys.stderr, flush=True)
            said = {name: server.layout() for name, server in servers.items()}
            rss = {name: max(rss_mb(pid) for pid in server.workers()) for name, server in servers.items()}
        finally:
            for server in servers.values():
                server.stop()
            issuer.stop()
            drop_database(database_url)
    load_after = os.getloadavg()
    print(
        f"{args.rounds} rounds; per round and layout {new_count} new users, then {returning_count} returning "
        f"calls, {clients} clients; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    print(
        "| layout | gunicorn says | new users/s | p50 ms | p99 ms | worker CPU ms per new user | "
        "returning calls/s | returning p99 ms | worker CPU ms per returning call | errors | largest RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, record in figures.items():
        median = {key: statistics.median(values) for key, values in record.items()}
        print(
            f"| {name} | {said[name]} | {median['new/s']:.1f} | {median['new p50']:.0f} | "
            f"{median['new p99']:.0f} | {median['new CPU ms']:.1f} | {median['returning/s']:.0f} | "
            f"{median['returning p99']:.0f} | {median['returning CPU ms']:.2f} | "
            f"{int(sum(record['errors']))} | {rss[name]:.0f} |"
        )
    return 1 if any(sum(record["errors"]) for record in figures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
