"""Run the benchmarks and print one table: measure, figure, target, result.

    .venv/bin/python bench/run.py                  # every benchmark (``make bench``)
    .venv/bin/python bench/run.py onboarding_first_run  # only the ones named
    .venv/bin/python bench/run.py --tiny           # each once on tiny sizes (the test suite does this)

The scratch database ``BENCH_DATABASE_URL`` names (default ``aether_bench`` on the local server; the
name must start with ``aether_bench``) is dropped, created and migrated first. Exits 1 when a figure
misses its target. Each benchmark is a module here with ``measure(url, tiny) -> list[Row]``; add one by
writing the module and listing it in ``BENCHMARKS``.
"""

import argparse
import importlib
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime

from scratch import recreate_database, scratch_url, setup_django
from table import Row, format_table

# In the order they run: the onboarding figures first, on a database holding nothing else.
BENCHMARKS = (
    "onboarding_first_run",
    "sign_in_paths",
    "onboard_all_incomplete",
    "rollout",
    "notebook_search",
    "session_ending",
    "metrics_overhead",
    "throttle_overhead",
    "load_new_users",
)


def machine() -> str:
    import psycopg
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server,) = cursor.fetchone()
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    load = " ".join(f"{value:.2f}" for value in __import__("os").getloadavg())
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {cores} cores, load {load}, "
        f"Python {platform.python_version()}, PostgreSQL {server}, psycopg {psycopg.__version__}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="BENCHMARK", help=f"any of {', '.join(BENCHMARKS)}")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: check that each runs, not speed")
    args = parser.parse_args()
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark: {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}")

    url = scratch_url()
    recreate_database(url)
    setup_django(url)
    print(machine(), flush=True)
    rows: list[Row] = []
    for name in args.names or BENCHMARKS:
        started = time.monotonic()
        module = importlib.import_module(name)
        rows += module.measure(url, args.tiny)
        print(f"{name}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    print(format_table(rows))
    return 1 if any(row.passed is False for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
