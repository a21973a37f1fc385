"""The runs admin shows the request that started a run, and finds the run by that request's id."""

import pytest

from onboarding.models import OnboardingRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(make_user):
    # Runs as a request and as the command record them (the command has no request).
    first, second = make_user(), make_user()
    return (
        OnboardingRun.objects.create(
            user=first,
            trigger="api",
            status="completed",
            started_at="2026-01-05T10:00Z",
            request_id="req-7f3a",
        ),
        OnboardingRun.objects.create(
            user=second, trigger="command", status="completed", started_at="2026-01-05T10:01Z"
        ),
    )


def test_a_request_id_from_a_log_line_finds_its_run(admin_client, runs):
    found, other = runs

    page = admin_client.get("/admin/onboarding/onboardingrun/", {"q": "req-7f3a"}).content.decode()

    assert f"/admin/onboarding/onboardingrun/{found.pk}/change/" in page
    assert f"/admin/onboarding/onboardingrun/{other.pk}/change/" not in page
    # Ids are matched whole: a part of one finds nothing.
    partial = admin_client.get("/admin/onboarding/onboardingrun/", {"q": "req-7f"}).content.decode()
    assert f"/admin/onboarding/onboardingrun/{found.pk}/change/" not in partial


def test_a_runs_page_shows_the_request_that_started_it(admin_client, runs):
    page = admin_client.get(f"/admin/onboarding/onboardingrun/{runs[0].pk}/change/").content.decode()

    assert "Request id" in page
    assert "req-7f3a" in page
