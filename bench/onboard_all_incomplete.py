"""``manage.py onboard_user --all-incomplete`` over many users who never signed in before.

Each round creates the users in one statement, runs the command over every incomplete user (a chunk of
users per transaction, as the command does) and deletes the users again. Reports the median rate of the
rounds against the target, the statements the command sent per user, and the CPU time per user of
this process and of its PostgreSQL backend (the part of the figure a busy machine does not move).
"""

import json
import os
import time
from dataclasses import dataclass
from io import StringIO

from onboarding_first_run import backend_cpu_seconds
from scratch import new_users
from table import Row, at_least, info, median, milliseconds

TARGET_USERS_PER_SECOND = 300


@dataclass(frozen=True)
class Sizes:
    users: int
    rounds: int


FULL = Sizes(users=10_000, rounds=3)
TINY = Sizes(users=5, rounds=1)


@dataclass(frozen=True)
class Round:
    completed: int  # of the users this round made
    onboarded: int  # all the users the command went through
    milliseconds: float
    statements: int
    client_cpu: float
    server_cpu: float | None


def one_round(users: int) -> Round:
    """Create ``users`` users and run the command over them; what it did, and what that cost."""
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import User

    made = new_users(users)
    output, summary = StringIO(), StringIO()
    statements = 0

    def counted(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    server_before = backend_cpu_seconds(backend)
    client_before = time.process_time()
    try:
        with connection.execute_wrapper(counted):
            elapsed = milliseconds(
                lambda: call_command(
                    "onboard_user", "--all-incomplete", "--format", "json", stdout=output, stderr=summary
                )
            )
        client_cpu = time.process_time() - client_before
        server_after = backend_cpu_seconds(backend)
    finally:
        User.objects.filter(pk__in=[user.pk for user in made]).delete()
    server_cpu = None if None in (server_before, server_after) else server_after - server_before
    lines = [json.loads(line) for line in output.getvalue().splitlines()]
    # Users an earlier benchmark left incomplete are onboarded too: they count in the rate, not here.
    ours = {str(user.pk) for user in made}
    completed = sum(line["user_id"] in ours and line["status"] == "completed" for line in lines)
    return Round(completed, len(lines), elapsed, statements, client_cpu, server_cpu)


def measure(url: str, tiny: bool) -> list[Row]:
    sizes = TINY if tiny else FULL
    rounds = []
    for _ in range(sizes.rounds):
        done = one_round(sizes.users)
        if done.completed != sizes.users:
            raise RuntimeError(f"the command completed {done.completed} of {sizes.users} users")
        rounds.append(done)
    users = f"{sizes.users:,} users"
    rate = median(done.onboarded / done.milliseconds * 1000 for done in rounds)
    statements = median(done.statements / done.onboarded for done in rounds)
    client = median(done.client_cpu * 1000 / done.onboarded for done in rounds)
    cpu = f"{client:.2f} ms (client)"
    if all(done.server_cpu is not None for done in rounds):
        server = median(done.server_cpu * 1000 / done.onboarded for done in rounds)
        cpu = f"{client + server:.2f} ms ({client:.2f} client + {server:.2f} server)"
    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    return [
        at_least(
            f"onboard_user --all-incomplete, {users}, median of {sizes.rounds}",
            rate,
            TARGET_USERS_PER_SECOND,
            " users/s",
            digits=0,
        ),
        info(f"onboard_user --all-incomplete, {users}: statements per user", f"{statements:.3f}"),
        info(f"onboard_user --all-incomplete, {users}: CPU per user", cpu),
        info("onboard_user --all-incomplete: load average after", load),
    ]
