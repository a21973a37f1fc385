"""``manage.py onboard_user --all-incomplete`` over many users who never signed in before.

Each round creates the users in one statement, runs the command over every incomplete user (each in a
transaction of its own, as the command does) and deletes the users again. Reports the median rate of
the rounds.
"""

from dataclasses import dataclass
from io import StringIO

from scratch import new_users
from table import Row, info, median, milliseconds


@dataclass(frozen=True)
class Sizes:
    users: int
    rounds: int


FULL = Sizes(users=1000, rounds=3)
TINY = Sizes(users=5, rounds=1)


def one_round(users: int) -> tuple[int, float]:
    """Create ``users`` users, run the command over them; answer how many it onboarded, in how many ms."""
    from django.core.management import call_command

    from accounts.models import User

    made = new_users(users)
    output, summary = StringIO(), StringIO()
    try:
        elapsed = milliseconds(
            lambda: call_command(
                "onboard_user", "--all-incomplete", "--format", "json", stdout=output, stderr=summary
            )
        )
    finally:
        User.objects.filter(pk__in=[user.pk for user in made]).delete()
    return len(output.getvalue().splitlines()), elapsed


def measure(url: str, tiny: bool) -> list[Row]:
    sizes = TINY if tiny else FULL
    rates = []
    for _ in range(sizes.rounds):
        onboarded, elapsed = one_round(sizes.users)
        if onboarded != sizes.users:
            raise RuntimeError(f"the command onboarded {onboarded} of {sizes.users} users")
        rates.append(onboarded / elapsed * 1000)
    return [
        info(
            f"onboard_user --all-incomplete, {sizes.users} users",
            f"{median(rates):.0f} users/s",
        )
    ]
