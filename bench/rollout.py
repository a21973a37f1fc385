"""A roll-out of a new blueprint version over many onboarded users, by one worker.

The users are onboarded with version 1 first (as sign-in does, one run each), then version 2 adds a
document and rewrites a text. The roll-out is started by the service and run by the real worker,
``manage.py db_worker --batch``, in this process: the task code, its queue in the database and one
transaction per user, exactly as a worker process runs it, minus the process start. Reports the users
per second from the start to the last user, and the statements each user cost (the whole roll-out's,
batches included, divided by the users).
"""

from dataclasses import dataclass
from io import StringIO

from scratch import new_users
from table import Row, at_least, info, milliseconds

TARGET_USERS_PER_SECOND = 300


@dataclass(frozen=True)
class Sizes:
    users: int
    batch_size: int


FULL = Sizes(users=10_000, batch_size=500)
TINY = Sizes(users=20, batch_size=5)


def onboarded_with_version_1(count: int) -> list:
    from onboarding.services import onboard_user

    users = new_users(count)
    for user in users:
        onboard_user(user=user, trigger="login")
    return users


def publish_version_2() -> None:
    from onboarding.blueprints import blueprint_as_input, blueprint_create_version
    from onboarding.selectors import blueprint_current

    fields, documents = blueprint_as_input(blueprint_current())
    documents[0]["content"] += "\nRewritten for version 2.\n"
    documents.append({"key": "release-notes", "name": "Release notes.txt", "content": "New.\n", "order": 9})
    blueprint_create_version(fields=fields, documents=documents, change_note="Benchmark: version 2")


class StatementCounter:
    """Counts the statements this process sends, with Django's execute wrapper."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def measure(url: str, tiny: bool) -> list[Row]:
    from django.core.management import call_command
    from django.db import connection

    from onboarding.rollouts import rollout_progress, rollout_start
    from onboarding.selectors import blueprint_current
    from onboarding.upgrades import users_behind

    sizes = TINY if tiny else FULL
    onboarded_with_version_1(sizes.users)
    publish_version_2()
    # Its own users, and those the benchmarks before it onboarded on older versions: all are reached.
    behind = users_behind(blueprint_current()).count()
    counter = StatementCounter()
    holder: dict = {}

    def roll_out() -> None:
        with connection.execute_wrapper(counter):
            holder["rollout"] = rollout_start(actor=None, batch_size=sizes.batch_size)
            call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", stdout=StringIO())

    elapsed = milliseconds(roll_out)
    progress = rollout_progress(holder["rollout"], revive=False)
    if (progress.rollout.status, progress.done) != ("completed", behind):
        status = progress.rollout.status
        raise RuntimeError(f"the roll-out ended {status} with {progress.done} of {behind} done")
    if users_behind(blueprint_current()).exists():
        raise RuntimeError("a user was left on an older version")
    rate = behind / elapsed * 1000
    label = f"roll-out, {behind} users, one worker (db_worker in-process), batches of {sizes.batch_size}"
    return [
        at_least(label, rate, TARGET_USERS_PER_SECOND, " users/s", digits=0),
        info("roll-out: statements per user, batches and queue included", f"{counter.count / behind:.2f}"),
    ]
