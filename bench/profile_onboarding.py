"""Where onboarding spends its time: pyinstrument's call tree over many first runs.

    .venv/bin/python bench/profile_onboarding.py [--users 300]           # onboard_user, user by user
    .venv/bin/python bench/profile_onboarding.py --all-incomplete --users 2000
                                                 # manage.py onboard_user --all-incomplete over them
    .venv/bin/python bench/profile_onboarding.py --statements --users 400
                                                 # this process's CPU per statement of a first run

Like ``bench/run.py``, it drops, creates and migrates the scratch database ``BENCH_DATABASE_URL`` names
and runs with production settings. Sampling costs time of its own: read the shares of the tree, not the
durations; ``make bench`` gives the durations. ``--statements`` samples nothing: it reads this process's
CPU time (``time.process_time()``, so waits for PostgreSQL or for a core do not count) around each
statement, which a loaded machine distorts far less than a wall-clock profile.
"""

import argparse
import re
import time
from collections import defaultdict
from io import StringIO

from scratch import new_users, recreate_database, scratch_url, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300, help="first onboardings to profile")
    parser.add_argument(
        "--all-incomplete",
        action="store_true",
        help="profile manage.py onboard_user --all-incomplete over the users instead",
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="print this process's CPU per statement of a first run instead of a call tree",
    )
    args = parser.parse_args()
    url = scratch_url()
    recreate_database(url)
    setup_django(url)

    from django.core.management import call_command
    from onboarding_first_run import onboard
    from pyinstrument import Profiler

    users = new_users(args.users + 10)
    for user in users[:10]:  # connection, caches
        onboard(user)
    if args.statements:
        print(cpu_per_statement(users[10:]))
        return
    profiler = Profiler(interval=0.0005)
    with profiler:
        if args.all_incomplete:
            call_command("onboard_user", "--all-incomplete", "--format", "json", stdout=StringIO())
        else:
            for user in users[10:]:
                onboard(user)
    print(profiler.output_text(unicode=True, color=False))


def cpu_per_statement(users: list) -> str:
    """This process's CPU per first onboarding, statement by statement, averaged over ``users``.

    "Python before" is the time from the previous statement's answer (or the run's start) to this
    statement being sent: building it and everything the run does in between. "Sending and reading" is
    the time inside the driver (parameters, protocol, rows); BEGIN is sent inside a transaction's first
    statement. The time after the last statement holds the commit and what runs after it.
    """
    from django.db import connection
    from onboarding_first_run import onboard

    before: dict[int, float] = defaultdict(float)
    inside: dict[int, float] = defaultdict(float)
    names: dict[int, str] = {}
    clock = {"last": 0.0, "number": 0}

    def timed(execute, sql, params, many, context):
        sent = time.process_time()
        try:
            return execute(sql, params, many, context)
        finally:
            answered = time.process_time()
            number = clock["number"]
            names[number] = re.sub(r"\s+", " ", sql)[:60]
            before[number] += sent - clock["last"]
            inside[number] += answered - sent
            clock["last"], clock["number"] = answered, number + 1

    total = after = 0.0
    with connection.execute_wrapper(timed):
        for user in users:
            clock["number"], started = 0, time.process_time()
            clock["last"] = started
            onboard(user)
            ended = time.process_time()
            total += ended - started
            after += ended - clock["last"]
    count = len(users)
    lines = [
        f"CPU of this process per first onboarding: {total * 1000 / count:.2f} ms",
        f"{'statement':62}  {'Python before':>13}  {'sending and reading':>19}",
    ]
    for number in sorted(names):
        python, driver = before[number] * 1000 / count, inside[number] * 1000 / count
        lines.append(f"{names[number]:62}  {python:10.3f} ms  {driver:16.3f} ms")
    lines.append(
        f"{'(after the last statement: commit, then the announcement)':62}  {after * 1000 / count:10.3f} ms"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
