"""A new user's first onboarding, against the raw-SQL floor measured in the same run.

For a blueprint of 3 sample documents (the default) and one of 30: the SQL statements one first
onboarding sends, as Django's ``CaptureQueriesContext`` counts them (BEGIN and COMMIT included), and
the median time of ``onboard_user`` next to the median time of the floor (``floor.py``), the two
measured in turns so that whatever else the machine is doing weighs on both alike. Then the WAL one
first onboarding writes, the floor's for the same rows, and concurrent first runs for one user.
"""

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from floor import Floor, blueprint_values
from scratch import new_users
from table import Row, at_most, info, median, milliseconds
from wal import WalBytes, WalMeter

STATEMENTS_TARGET = 15
RATIO_TARGET = 3.0
WAL_TARGET_KB = 10.0
WAL_OVER_FLOOR = 1.1


@dataclass(frozen=True)
class Sizes:
    users: int  # timed first onboardings per blueprint (and as many floor ones)
    warm_up: int
    wal_users: int
    concurrent: int


FULL = Sizes(users=300, warm_up=20, wal_users=200, concurrent=8)
TINY = Sizes(users=3, warm_up=1, wal_users=2, concurrent=2)


def publish_blueprint(document_count: int):
    """Publish a version with ``document_count`` sample documents (the default texts, over and over)."""
    from onboarding.blueprints import blueprint_create_version
    from onboarding.defaults import default_blueprint_spec

    fields, defaults = default_blueprint_spec()
    documents = [
        {
            "key": f"{sample['key']}-{n}",
            "name": f"{n:02d} {sample['name']}",
            "content": sample["content"],
            "order": n,
        }
        for n, sample in zip(
            range(1, document_count + 1), (defaults * document_count)[:document_count], strict=True
        )
    ]
    return blueprint_create_version(fields=fields, documents=documents, change_note="benchmark")


def onboard(user) -> None:
    from onboarding.services import onboard_user

    run = onboard_user(user=user, trigger="command")
    if run.status != "completed":
        raise RuntimeError(f"onboarding failed during the benchmark: {run.failed_step} {run.error}")


def statements_of_first_onboarding() -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    (user,) = new_users(1)
    with CaptureQueriesContext(connection) as queries:
        onboard(user)
    return len(queries)


@dataclass
class Timings:
    """Milliseconds per first onboarding: wall-clock medians, and CPU means where they can be read."""

    ours: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    ours_cpu: float | None = None
    floor_cpu: float | None = None


def backend_cpu_seconds(pid: int) -> float | None:
    """CPU time a PostgreSQL backend on this machine has used, or None when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_against_floor(url: str, blueprint, sizes: Sizes) -> Timings:
    """``onboard_user`` and the floor, first onboardings taken in turns.

    Wall-clock time is what the target is about; on a machine busy with other work it also counts
    the waits for a core. CPU time (this process, and the PostgreSQL backend of each connection
    when the server runs on this machine) does not, so it is reported next to it.
    """
    from django.db import connection

    floor = Floor(url, blueprint_values(blueprint))
    timings = Timings()
    users = new_users(2 * (sizes.warm_up + sizes.users))
    connection.ensure_connection()
    backends = (connection.connection.info.backend_pid, floor.conn.info.backend_pid)
    cpu = {"ours": 0.0, "floor": 0.0}
    try:
        for number, (user, floor_user) in enumerate(zip(users[::2], users[1::2], strict=True)):
            if number == sizes.warm_up:
                server = [backend_cpu_seconds(pid) for pid in backends]
            started = time.process_time()
            ours_ms = milliseconds(lambda user=user: onboard(user))
            between = time.process_time()
            floor_ms = milliseconds(lambda u=floor_user: floor.onboard(u.pk, u.display_name))
            if number >= sizes.warm_up:
                timings.ours.append(ours_ms)
                timings.floor.append(floor_ms)
                cpu["ours"] += between - started
                cpu["floor"] += time.process_time() - between
        server_after = [backend_cpu_seconds(pid) for pid in backends]
    finally:
        floor.close()
    if None not in server + server_after:
        timings.ours_cpu = (cpu["ours"] + server_after[0] - server[0]) * 1000 / sizes.users
        timings.floor_cpu = (cpu["floor"] + server_after[1] - server[1]) * 1000 / sizes.users
    return timings


def wal_per_onboarding(url: str, blueprint, sizes: Sizes) -> tuple[WalBytes, WalBytes]:
    """The WAL of ``sizes.wal_users`` first onboardings by ``onboard_user``, then as many by the floor."""
    meter = WalMeter(url)
    floor = Floor(url, blueprint_values(blueprint))
    try:
        ours_users, floor_users = new_users(sizes.wal_users), new_users(sizes.wal_users)
        meter.start()
        for user in ours_users:
            onboard(user)
        ours = meter.stop()
        meter.start()
        for user in floor_users:
            floor.onboard(user.pk, user.display_name)
        floors = meter.stop()
    finally:
        floor.close()
        meter.close()
    return ours, floors


def wal_rows(ours: WalBytes, floor: WalBytes, users: int) -> list[Row]:
    """The WAL figures: this database's records when pg_walinspect can tell them, else the server's."""
    if ours.records is None or floor.records is None:
        ours_kb, floor_kb = ours.server / users / 1024, floor.server / users / 1024
        scope = "whole server, an upper bound"
        images = []
    else:
        ours_kb, floor_kb = ours.records / users / 1024, floor.records / users / 1024
        scope = "records"
        images = [
            info(
                "WAL full-page images per first onboarding",
                f"{ours.page_images / users / 1024:.1f} KB (floor {floor.page_images / users / 1024:.1f} KB)",
            )
        ]
    # The target, or no more than a tenth over what the same rows cost written raw (see RESULTS.md).
    limit = max(WAL_TARGET_KB, WAL_OVER_FLOOR * floor_kb)
    return [
        Row(
            f"WAL per first onboarding, 3 documents ({scope})",
            f"{ours_kb:.1f} KB",
            f"<= {WAL_TARGET_KB:g} KB or {WAL_OVER_FLOOR:g}x floor",
            ours_kb <= limit,
        ),
        info(f"WAL per first onboarding, raw-SQL floor ({scope})", f"{floor_kb:.1f} KB"),
        *images,
    ]


def concurrent_first_runs(count: int) -> tuple[bool, str]:
    """``count`` runs for one new user at the same moment, each on its own connection."""
    from django.db import connection

    from accounts.models import User
    from notebooks.models import Agent, Document, Notebook
    from onboarding.services import onboard_user

    (target,) = new_users(1)
    barrier = threading.Barrier(count)
    statuses: list[str] = []

    def worker() -> None:
        try:
            user = User.objects.get(pk=target.pk)
            barrier.wait(timeout=30)
            statuses.append(str(onboard_user(user=user, trigger="login").status))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    made = (
        Notebook.objects.filter(owner=target).count(),
        Document.objects.filter(notebook__owner=target).count(),
        Agent.objects.filter(owner=target).count(),
    )
    ok = sorted(statuses) == ["completed"] + ["skipped"] * (count - 1) and made == (1, 3, 1)
    return ok, f"{statuses.count('completed')} completed, {made[0]} notebook, {made[1]} documents"


def measure(url: str, tiny: bool) -> list[Row]:
    from onboarding.selectors import blueprint_current

    sizes = TINY if tiny else FULL
    rows: list[Row] = []
    default = blueprint_current()
    versions = [(len(default.documents.all()), default), (30, None)]
    for count, blueprint in versions:
        blueprint = blueprint or publish_blueprint(count)
        timings = timed_against_floor(url, blueprint, sizes)
        ours, floor = median(timings.ours), median(timings.floor)
        statements = statements_of_first_onboarding()
        rows += [
            at_most(
                f"statements, first onboarding, {count} documents", statements, STATEMENTS_TARGET, digits=0
            ),
            info(f"onboard_user median, {count} documents", f"{ours:.2f} ms"),
            info(f"raw-SQL floor median, {count} documents", f"{floor:.2f} ms"),
            at_most(f"onboard_user / floor, {count} documents", ours / floor, RATIO_TARGET, "x", digits=2),
        ]
        if timings.ours_cpu is not None:
            rows.append(
                info(
                    f"CPU per first onboarding, {count} documents (client + server)",
                    f"{timings.ours_cpu:.2f} ms, floor {timings.floor_cpu:.2f} ms, "
                    f"{timings.ours_cpu / timings.floor_cpu:.2f}x",
                )
            )
    # The last published version has 30 documents: publish the default's 3 again for the WAL.
    blueprint = publish_blueprint(3)
    rows += wal_rows(*wal_per_onboarding(url, blueprint, sizes), users=sizes.wal_users)
    ok, outcome = concurrent_first_runs(sizes.concurrent)
    rows.append(
        Row(f"{sizes.concurrent} concurrent first runs for one user", outcome, "1 completed, 1 of each", ok)
    )
    return rows
