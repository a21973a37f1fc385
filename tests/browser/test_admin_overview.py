"""The onboarding overview in a real Chromium: charts drawn under the admin's strict CSP, numbers readable."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.services import user_create
from onboarding.blueprints import blueprint_create_version
from onboarding.defaults import default_blueprint_spec
from onboarding.models import OnboardingRun, UserOnboarding
from tests.browser.conftest import DESKTOP

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

STEPS = ["personal_space", "notebook", "documents", "agent"]


def seed_a_month(users) -> None:
    """A month of sign-ins with a Monday-morning peak, a failing week, a quiet day and today in progress."""
    today = timezone.localdate()
    runs = []
    for days_ago in range(30):
        day = today - timedelta(days=days_ago)
        if days_ago == 9:
            continue  # nothing at all that day
        busy = 14 if day.weekday() == 0 else 6 + (days_ago * 7) % 5
        failed = 3 if 10 <= days_ago <= 14 else days_ago % 3 == 0
        for n in range(busy + failed + 2):
            status = "failed" if n < failed else "skipped" if n >= busy + failed else "completed"
            runs.append(
                OnboardingRun(
                    user=users[n % len(users)],
                    trigger="login" if n % 3 else "api",
                    status=status,
                    started_at=timezone.make_aware(datetime.combine(day, time(n % 24, n))),
                    duration_ms=(2 if status == "skipped" else 60 + (n * 37 + days_ago * 11) % 140)
                    + (1800 if status == "failed" and days_ago <= 14 else 0),
                    failed_step=STEPS[(days_ago + n) % 4] if status == "failed" else "",
                )
            )
    OnboardingRun.objects.bulk_create(runs)
    fields, documents = default_blueprint_spec()
    blueprint_create_version(fields={**fields, "notebook_name": "First Steps"}, documents=documents)
    for n, user in enumerate(users):
        status = ["completed", "completed", "completed", "failed", "running"][n % 5]
        version = (1 if n % 2 else 2) if status == "completed" else None
        UserOnboarding.objects.create(user=user, status=status, blueprint_version=version)


def test_staff_see_onboarding_at_a_glance(open_page, screenshot):
    staff = user_create(sub="staff-web", email="staff@example.com", full_name="Sam Staff", is_staff=True)
    staff.is_superuser = True
    staff.save()
    users = [
        user_create(sub=f"user-{n}", email=f"user{n}@example.com", full_name=f"User {n}") for n in range(23)
    ]
    seed_a_month(users)

    page = open_page(user=staff, viewport=DESKTOP)
    page.goto("/admin/")
    page.get_by_role("link", name="Overview").click()

    expect(page).to_have_url("/admin/onboarding/overview/")
    expect(page.get_by_role("heading", name="Onboarding at a glance")).to_be_visible()
    for name in ("Runs per day", "Duration per day", "Failures by step", "Users by status"):
        expect(page.get_by_role("heading", name=name)).to_be_visible()
    # Every chart is an image with a name; its numbers are in a table that screen readers reach.
    expect(page.get_by_role("img", name="Users by onboarding status")).to_be_visible()
    statuses = page.get_by_role("table", name="Users by onboarding status")
    expect(statuses.get_by_role("row", name="Completed 15")).to_be_attached()
    assert page.locator("svg.chart rect.chart-fill-completed").count() >= 28
    assert page.locator("svg.chart polyline.chart-line-p95").count() >= 1
    # The stylesheet colours the bars (an unstyled SVG rect would be black).
    assert (
        page.locator("rect.chart-fill-failed").first.evaluate("e => getComputedStyle(e).fill")
        == "rgb(198, 40, 40)"
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "admin-onboarding-overview-desktop")
    # The axes and labels take the admin's theme colours: readable in its dark theme too.
    page.emulate_media(color_scheme="dark")
    label = page.locator("text.chart-category").first
    assert label.evaluate("e => getComputedStyle(e).fill") != "rgb(51, 51, 51)"
    screenshot(page, "admin-onboarding-overview-dark")
