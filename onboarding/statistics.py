"""Onboarding summed up over time, for the overview page: a fixed number of queries whatever the history.

Every figure is aggregated in the database (runs per day and status, failures per step, users per
status and blueprint version), never by loading runs into Python. The daily p50 and p95 durations use
PostgreSQL's ``percentile_cont``; SQLite (``make run``) has no such aggregate, so there the durations
of the period are read in one more query and the same interpolation is done in Python.
"""

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Max, Q, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from accounts.models import User
from onboarding.models import Blueprint, OnboardingRun, OnboardingStatus
from onboarding.steps import STEP_NAMES

PERIOD_DAYS = 30
RUN_STATUSES: tuple[str, ...] = tuple(OnboardingRun.Status.values)
# Runs that did the work are timed; skipped runs (already onboarded) and running ones are not.
TIMED = Q(status__in=[OnboardingRun.Status.COMPLETED, OnboardingRun.Status.FAILED], duration_ms__isnull=False)


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``.

    The value below which ``fraction`` of the rows fall, interpolated linearly between the two rows
    around it: the median for 0.5.
    """

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: str, fraction: float, **extra) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError(f"A percentile is a fraction from 0 to 1, not {fraction!r}.")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def percentile_cont(ordered: Sequence[float], fraction: float) -> float | None:
    """``percentile_cont`` as PostgreSQL computes it, over values already in ascending order."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


@dataclass(frozen=True)
class DayOfRuns:
    day: date
    counts: dict[str, int]
    timed: int
    p50_ms: float | None
    p95_ms: float | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class StepFailures:
    step: str  # "" when the run failed before its first step (no blueprint, say)
    runs: int
    timed_out: int


@dataclass(frozen=True)
class UserCounts:
    by_status: dict[str, int]
    #: Users whose onboarding last completed with each version; ``None``: never completed.
    by_version: dict[int | None, int]
    current_version: int | None = None
    total: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", sum(self.by_status.values()))


def period_days(today: date | None = None, days: int = PERIOD_DAYS) -> list[date]:
    """The ``days`` calendar days (in ``TIME_ZONE``) ending today, oldest first."""
    today = today or timezone.localdate()
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def _since(first_day: date) -> datetime:
    return timezone.make_aware(datetime.combine(first_day, time.min))


def runs_per_day(days: list[date]) -> list[DayOfRuns]:
    """For each day: runs per status, how many were timed, and their p50 and p95 durations.

    Days without runs are there, with zeros (and no durations). One query on PostgreSQL, two elsewhere.
    """
    runs = OnboardingRun.objects.filter(started_at__gte=_since(days[0])).annotate(day=TruncDate("started_at"))
    postgres = connection.vendor == "postgresql"
    percentiles = (
        {
            "p50": PercentileCont("duration_ms", 0.5, filter=TIMED),
            "p95": PercentileCont("duration_ms", 0.95, filter=TIMED),
        }
        if postgres
        else {}
    )
    rows = {
        row["day"]: row
        for row in runs.values("day")
        .annotate(
            **{status: Count("pk", filter=Q(status=status)) for status in RUN_STATUSES},
            timed=Count("pk", filter=TIMED),
            **percentiles,
        )
        .order_by("day")
    }
    if not postgres:
        durations: dict[date, list[int]] = defaultdict(list)
        for day, duration in (
            runs.filter(TIMED).order_by("day", "duration_ms").values_list("day", "duration_ms")
        ):
            durations[day].append(duration)
        for day, row in rows.items():
            row["p50"] = percentile_cont(durations[day], 0.5)
            row["p95"] = percentile_cont(durations[day], 0.95)
    return [_day_of_runs(day, rows.get(day)) for day in days]


def _day_of_runs(day: date, row: dict | None) -> DayOfRuns:
    if row is None:
        return DayOfRuns(day=day, counts=dict.fromkeys(RUN_STATUSES, 0), timed=0, p50_ms=None, p95_ms=None)
    return DayOfRuns(
        day=day,
        counts={status: row[status] for status in RUN_STATUSES},
        timed=row["timed"],
        p50_ms=row["p50"],
        p95_ms=row["p95"],
    )


def failures_by_step(days: list[date]) -> list[StepFailures]:
    """Failed runs of the period by the step that failed, every step listed, in the order runs take them."""
    counts = {
        row["failed_step"]: row
        for row in OnboardingRun.objects.filter(
            started_at__gte=_since(days[0]), status=OnboardingRun.Status.FAILED
        )
        .values("failed_step")
        .annotate(runs=Count("pk"), timed_out=Count("pk", filter=Q(timed_out=True)))
        .order_by()
    }
    failures = [
        StepFailures(step=step, runs=counts[step]["runs"], timed_out=counts[step]["timed_out"])
        if step in counts
        else StepFailures(step=step, runs=0, timed_out=0)
        for step in STEP_NAMES
    ]
    if "" in counts:  # runs that failed before their first step (no blueprint, the database gone)
        failures.append(StepFailures(step="", runs=counts[""]["runs"], timed_out=counts[""]["timed_out"]))
    return failures


def user_counts() -> UserCounts:
    """Users per onboarding status and per blueprint version: one grouped count, then the current version."""
    by_status = {status: 0 for status in OnboardingStatus.values}
    by_version: dict[int | None, int] = defaultdict(int)
    rows = (
        User.objects.values(
            status=Coalesce(F("onboarding__status"), Value(OnboardingStatus.NOT_STARTED)),
            version=F("onboarding__blueprint_version"),
        )
        .annotate(users=Count("pk"))
        .order_by()
    )
    for row in rows:
        by_status[row["status"]] += row["users"]
        by_version[row["version"]] += row["users"]
    current = Blueprint.objects.aggregate(current=Max("version"))["current"]
    if current is not None:
        by_version.setdefault(current, 0)
    ordered = dict(sorted(by_version.items(), key=lambda item: (item[0] is None, item[0] or 0)))
    return UserCounts(by_status=by_status, by_version=ordered, current_version=current)
