"""Time ``manage.py onboard_user --all-incomplete`` over many never-onboarded users, on PostgreSQL.

    .venv/bin/python bench/onboard_all_incomplete.py   # DATABASE_URL defaults to .../aether_bench_commands

The database named in DATABASE_URL is created if missing, migrated, and used as scratch space: each
round creates BENCH_USERS users (default 1000) in one statement, runs the command over every
incomplete user, and deletes the users it made. Point it at a scratch database only, since the
command onboards every incomplete user it finds. Prints the median users per second of BENCH_ROUNDS
rounds (default 3).
"""

import os
import statistics
import sys
import time
import uuid
from io import StringIO

from scratch import use_scratch_database

USERS = int(os.environ.get("BENCH_USERS", "1000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def one_round() -> tuple[int, float]:
    """Create the users, run the command over them; answer how many it onboarded and in how long."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import CommandError, call_command

    from accounts.models import User

    tag = uuid.uuid4().hex[:8]
    password = make_password(None)
    User.objects.bulk_create(
        User(
            username=f"bench-{tag}-{n}",
            email=f"bench-{tag}-{n}@example.com",
            sub=f"bench-{tag}-{n}",
            full_name=f"Bench {n}",
            password=password,
        )
        for n in range(USERS)
    )
    output = StringIO()
    try:
        started = time.perf_counter()
        try:
            call_command("onboard_user", "--all-incomplete", "--format", "json", stdout=output)
        except CommandError as exc:
            print(f"  the command reported: {exc}", file=sys.stderr)
        elapsed = time.perf_counter() - started
    finally:
        User.objects.filter(sub__startswith=f"bench-{tag}-").delete()
    return len(output.getvalue().splitlines()), elapsed


def main() -> None:
    use_scratch_database("aether_bench_commands")
    rates = []
    for number in range(1, ROUNDS + 1):
        onboarded, elapsed = one_round()
        rates.append(onboarded / elapsed)
        print(f"round {number}: {onboarded} users in {elapsed:.1f} s, {onboarded / elapsed:.0f} users/s")
    median = statistics.median(rates)
    print(f"onboard_user --all-incomplete: median {median:.0f} users/s ({USERS} users a round)")


if __name__ == "__main__":
    main()
