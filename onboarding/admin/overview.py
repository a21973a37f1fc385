"""``/admin/onboarding/overview/``: onboarding at a glance, for staff who may view onboarding runs.

Runs per day by status and their p50/p95 duration over the last 30 days, failures by step, users per
status and per blueprint version: server-rendered SVG charts (``onboarding/admin/charts.py``), each
with its numbers in a table for screen readers. The figures come from ``onboarding/statistics.py`` in
a fixed number of queries, however long the history. Routed in ``aether/urls.py`` (the admin site has
no place for a page that belongs to no model) and linked from the admin's index.
"""

from datetime import date

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse

from onboarding.admin import charts
from onboarding.models import OnboardingRun, OnboardingStatus
from onboarding.panel import duration_text
from onboarding.statistics import (
    DayOfRuns,
    StepFailures,
    UserCounts,
    failures_by_step,
    period_days,
    runs_per_day,
    user_counts,
)
from onboarding.steps import step_choices

PERMISSION = "onboarding.view_onboardingrun"
RUN_SERIES = (
    charts.Series(OnboardingRun.Status.COMPLETED, "Completed"),
    charts.Series(OnboardingRun.Status.FAILED, "Failed"),
    charts.Series(OnboardingRun.Status.SKIPPED, "Skipped"),
    charts.Series(OnboardingRun.Status.RUNNING, "Running"),
)
DURATION_SERIES = (charts.Series("p50", "p50 (median)"), charts.Series("p95", "p95"))
BEFORE_FIRST_STEP = "Before the first step"


def duration(milliseconds: float | None) -> str:
    """``240 ms``, ``1.5 s`` as on the dashboard; an em dash when there is no figure."""
    return "—" if milliseconds is None else duration_text(round(milliseconds))


def short_date(day: date) -> str:
    return f"{day:%b} {day.day}"


def onboarding_overview(request: HttpRequest) -> TemplateResponse:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    days = period_days()
    period = f"{short_date(days[0])} to {short_date(days[-1])}"
    context = {
        **admin.site.each_context(request),
        "title": "Onboarding at a glance",
        "period": period,
        "time_zone": settings.TIME_ZONE,
        **_runs(runs_per_day(days), period),
        **_failures(failures_by_step(days), period),
        **_users(user_counts()),
    }
    return TemplateResponse(request, "admin/onboarding/overview.html", context)


def _runs(per_day: list[DayOfRuns], period: str) -> dict:
    labels = [short_date(day.day) for day in per_day]
    totals = {item.key: sum(day.counts[item.key] for day in per_day) for item in RUN_SERIES}
    worked = totals[OnboardingRun.Status.COMPLETED] + totals[OnboardingRun.Status.FAILED]
    return {
        "run_series": RUN_SERIES,
        "run_rows": [(day.day, [day.counts[item.key] for item in RUN_SERIES], day.total) for day in per_day],
        "duration_rows": [
            (day.day, day.timed, duration(day.p50_ms), duration(day.p95_ms)) for day in per_day
        ],
        "totals": totals,
        "runs_total": sum(totals.values()),
        "failure_rate": round(100 * totals[OnboardingRun.Status.FAILED] / worked, 1) if worked else None,
        "runs_chart": charts.stacked_columns(
            title=f"Onboarding runs per day, {period}",
            description=f"{sum(totals.values())} runs: "
            + ", ".join(f"{totals[item.key]} {item.label.lower()}" for item in RUN_SERIES),
            categories=labels,
            stacks=[day.counts for day in per_day],
            series=RUN_SERIES,
        ),
        "durations_chart": charts.lines(
            title=f"Duration of completed and failed runs per day, {period}",
            description="Median (p50) and 95th percentile (p95) of each day; none on days without such runs.",
            categories=labels,
            values={"p50": [day.p50_ms for day in per_day], "p95": [day.p95_ms for day in per_day]},
            series=DURATION_SERIES,
            value_label=duration,
        ),
    }


def _failures(failures: list[StepFailures], period: str) -> dict:
    names = dict(step_choices())
    rows = [(names.get(row.step, BEFORE_FIRST_STEP), row) for row in failures]
    return {
        "failures": rows,
        "failures_chart": charts.horizontal_bars(
            title=f"Failed runs by step, {period}",
            description=", ".join(f"{label}: {row.runs}" for label, row in rows),
            rows=[(label, row.runs, "failed") for label, row in rows],
            value_name="failed runs",
        ),
    }


def _users(users: UserCounts) -> dict:
    statuses = [(label, users.by_status[status], status) for status, label in OnboardingStatus.choices]
    versions = [
        (_version_label(version, users.current_version), count, "version" if version else "muted")
        for version, count in users.by_version.items()
    ]
    return {
        "users": users,
        "user_statuses": statuses,
        "versions": versions,
        "status_chart": charts.horizontal_bars(
            title="Users by onboarding status",
            description=", ".join(f"{label}: {count}" for label, count, _ in statuses),
            rows=statuses,
            value_name="users",
        ),
        "version_chart": charts.horizontal_bars(
            title="Users by the blueprint version they last completed",
            description=", ".join(f"{label}: {count}" for label, count, _ in versions),
            rows=versions,
            value_name="users",
        ),
    }


def _version_label(version: int | None, current: int | None) -> str:
    if version is None:
        return "Never completed"
    return f"v{version} (current)" if version == current else f"v{version}"


onboarding_overview_view = admin.site.admin_view(onboarding_overview)
