"""Where onboarding spends its time: pyinstrument's call tree over many first runs.

    .venv/bin/python bench/profile_onboarding.py [--users 300]           # onboard_user, user by user
    .venv/bin/python bench/profile_onboarding.py --all-incomplete --users 2000
                                                 # manage.py onboard_user --all-incomplete over them

Like ``bench/run.py``, it drops, creates and migrates the scratch database ``BENCH_DATABASE_URL`` names
and runs with production settings. Sampling costs time of its own: read the shares of the tree, not the
durations; ``make bench`` gives the durations.
"""

import argparse
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
    profiler = Profiler(interval=0.0005)
    with profiler:
        if args.all_incomplete:
            call_command("onboard_user", "--all-incomplete", "--format", "json", stdout=StringIO())
        else:
            for user in users[10:]:
                onboard(user)
    print(profiler.output_text(unicode=True, color=False))


if __name__ == "__main__":
    main()
