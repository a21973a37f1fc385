"""What a roll-out costs per user in CPU: this process's and its PostgreSQL backend's.

    .venv/bin/python bench/rollout_cpu.py [--users 1000]

Like ``bench/profile_rollout.py``, it drops, creates and migrates the scratch database
``BENCH_DATABASE_URL`` names and runs the batches with the task code in this process, without a
profiler. CPU time moves much less than wall-clock time with the load of a shared machine: compare its
figures between two versions of the code run one after the other.
"""

import argparse
import os
import time

from scratch import recreate_database, scratch_url, setup_django


def backend_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process on this machine (the PostgreSQL backend), from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000, help="users to roll out to")
    args = parser.parse_args()
    url = scratch_url()
    recreate_database(url)
    setup_django(url)

    from django.db import connection
    from rollout import onboarded_with_version_1, publish_version_2

    from onboarding.models import Rollout
    from onboarding.rollouts import rollout_run_batch, rollout_start

    onboarded_with_version_1(args.users)
    publish_version_2()
    rollout = rollout_start(actor=None, batch_size=500)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    wall, client, server = time.monotonic(), time.process_time(), backend_cpu_seconds(pid)
    while rollout.status == Rollout.Status.RUNNING:
        rollout_run_batch(rollout_id=rollout.pk, ticket=str(rollout.ticket))
        rollout.refresh_from_db()
    wall, client = time.monotonic() - wall, time.process_time() - client
    server = backend_cpu_seconds(pid) - server
    users = args.users
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"{users} users: {users / wall:.0f} users/s, CPU per user {1000 * (client + server) / users:.2f} ms "
        f"({1000 * client / users:.2f} client + {1000 * server / users:.2f} server), load after {load}"
    )


if __name__ == "__main__":
    main()
