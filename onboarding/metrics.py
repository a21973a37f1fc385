"""Onboarding's Prometheus metrics: runs, their durations, failing steps, and users per status.

Runs are counted once they are durable (after their transaction committed), as what they finally
were: a run whose work rolled back counts as failed. Skipped runs (the user was already onboarded)
are counted but not timed, so the histograms say how long onboarding takes when it does something.
``aether_users`` is read from the database by the worker that answers the scrape, in one query.
"""

import logging
from collections.abc import Iterable, Iterator
from typing import Protocol

from django.db import DatabaseError
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from aether.metrics import METRICS
from onboarding.models import OnboardingRun, OnboardingStatus, OnboardingStep
from onboarding.selectors import onboarding_status_counts
from onboarding.steps import STEP_NAMES

logger = logging.getLogger("aether.onboarding")

# A first run takes tens of milliseconds; ONBOARDING_TIMEOUT_SECONDS (10 by default) bounds it.
RUN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STEP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TIMED_STATUSES = frozenset({OnboardingRun.Status.COMPLETED, OnboardingRun.Status.FAILED})
RAN_STATUSES = frozenset(
    {OnboardingStep.Status.SUCCEEDED, OnboardingStep.Status.FAILED, OnboardingStep.Status.ROLLED_BACK}
)

RUNS = Counter(
    "aether_onboarding_runs",
    "Onboarding runs, by what started them and how they ended.",
    ("trigger", "status"),
    registry=METRICS,
)
RUN_DURATION = Histogram(
    "aether_onboarding_run_duration_seconds",
    "Duration of onboarding runs that completed or failed, by what started them.",
    ("trigger",),
    buckets=RUN_BUCKETS,
    registry=METRICS,
)
STEP_DURATION = Histogram(
    "aether_onboarding_step_duration_seconds",
    "Duration of each onboarding step that ran, kept or rolled back.",
    ("step",),
    buckets=STEP_BUCKETS,
    registry=METRICS,
)
STEP_FAILURES = Counter(
    "aether_onboarding_step_failures",
    "Onboarding runs that failed, by the step that failed.",
    ("step",),
    registry=METRICS,
)

_series_started = False


class StepOutcome(Protocol):
    name: str
    status: str
    duration_ms: int | None


def observe_run(run: OnboardingRun, steps: Iterable[StepOutcome]) -> None:
    """Count a finished run and time it and its steps; call once the run is recorded and committed.

    Never raises: a metrics directory that is full or read-only is logged, and the run stays as it is.
    """
    try:
        _start_series()
        RUNS.labels(run.trigger, run.status).inc()
        if run.status in TIMED_STATUSES and run.duration_ms is not None:
            RUN_DURATION.labels(run.trigger).observe(run.duration_ms / 1000)
        for step in steps:
            if step.status in RAN_STATUSES and step.duration_ms is not None:
                STEP_DURATION.labels(step.name).observe(step.duration_ms / 1000)
            if step.status == OnboardingStep.Status.FAILED:
                STEP_FAILURES.labels(step.name).inc()
    except Exception:  # metrics must never fail an onboarding
        logger.exception("onboarding metrics could not be recorded", extra={"run_id": str(run.pk)})


def _start_series() -> None:
    """Show every step's failure count from the first run on, at 0 until a step fails.

    Done at the first run rather than at import: ``manage.py migrate`` imports this module too, and in
    multiprocess mode a series written at import would be a file written in every such process.
    """
    global _series_started
    if _series_started:
        return
    for name in STEP_NAMES:
        STEP_FAILURES.labels(name)
    _series_started = True


class UsersByOnboardingStatus(Collector):
    """``aether_users{onboarding_status}``, counted in the database when Prometheus scrapes."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            counts = onboarding_status_counts()
        except DatabaseError as exc:
            # The other metrics still answer; a missing series is what alerts on an absent gauge see.
            logger.warning("users per onboarding status could not be counted", extra={"error": str(exc)})
            return
        family = self._family()
        for status in OnboardingStatus.values:
            family.add_metric([status], counts[status])
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "aether_users",
            "Users by onboarding status, counted at scrape time.",
            labels=["onboarding_status"],
        )
