"""Time first onboarding runs, and concurrent runs for one user, on PostgreSQL.

    .venv/bin/python bench/onboarding_first_run.py   # DATABASE_URL defaults to .../aether_bench

The database named in DATABASE_URL is created if missing, migrated, and used as scratch space (users
made by this script are deleted at the end). Prints medians; compare figures from one run only.
"""

import os
import statistics
import threading
import time
import uuid

from scratch import use_scratch_database

USERS = int(os.environ.get("BENCH_USERS", "200"))
CONCURRENT = int(os.environ.get("BENCH_CONCURRENT", "8"))


def main() -> None:
    use_scratch_database("aether_bench")
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from accounts.services import user_create
    from notebooks.models import Notebook
    from onboarding.services import onboard_user

    tag = uuid.uuid4().hex[:8]
    users = [
        user_create(sub=f"bench-{tag}-{n}", email=f"bench-{tag}-{n}@example.com", full_name=f"Bench {n}")
        for n in range(USERS + 1)
    ]
    try:
        durations, queries = [], []
        for user in users[:USERS]:
            reset_queries()
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                run = onboard_user(user=user, trigger="command")
                durations.append((time.perf_counter() - started) * 1000)
            assert run.status == "completed", run.error
            queries.append(len(captured))
        durations.sort()
        print(f"first runs: {USERS} users")
        print(
            f"  median {statistics.median(durations):.1f} ms, p95 {durations[int(0.95 * USERS) - 1]:.1f} ms"
        )
        print(f"  queries per first run: {statistics.median(queries):.0f}")

        target = users[-1]
        barrier = threading.Barrier(CONCURRENT)
        statuses: list[str] = []

        def worker() -> None:
            try:
                barrier.wait()
                statuses.append(
                    str(onboard_user(user=User.objects.get(pk=target.pk), trigger="login").status)
                )
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(CONCURRENT)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = (time.perf_counter() - started) * 1000
        notebooks = Notebook.objects.filter(owner=target).count()
        print(f"{CONCURRENT} concurrent runs for one user: {elapsed:.0f} ms in all")
        print(f"  statuses {sorted(statuses)}; onboarding notebooks afterwards: {notebooks}")
    finally:
        User.objects.filter(sub__startswith=f"bench-{tag}-").delete()


if __name__ == "__main__":
    main()
