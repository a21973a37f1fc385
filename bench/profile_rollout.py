"""Where a roll-out spends its time: pyinstrument's call tree over one roll-out's batches.

    .venv/bin/python bench/profile_rollout.py [--users 1000]

Like ``bench/run.py``, it drops, creates and migrates the scratch database ``BENCH_DATABASE_URL`` names
and runs with production settings. The batches are run by the task code in this process, as the worker
runs them. Read the shares of the tree, not the durations: ``make bench`` gives those.
"""

import argparse

from scratch import recreate_database, scratch_url, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000, help="users to roll out to")
    args = parser.parse_args()
    url = scratch_url()
    recreate_database(url)
    setup_django(url)

    from pyinstrument import Profiler
    from rollout import onboarded_with_version_1, publish_version_2

    from onboarding.models import Rollout
    from onboarding.rollouts import rollout_run_batch, rollout_start

    onboarded_with_version_1(args.users)
    publish_version_2()
    rollout = rollout_start(actor=None, batch_size=500)
    profiler = Profiler(interval=0.0005)
    with profiler:
        while rollout.status == Rollout.Status.RUNNING:
            rollout_run_batch(rollout_id=rollout.pk, ticket=str(rollout.ticket))
            rollout.refresh_from_db()
    print(profiler.output_text(unicode=True, color=False))


if __name__ == "__main__":
    main()
