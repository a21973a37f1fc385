"""The dashboard's onboarding panel and its "Try again" button."""

import time

import pytest

from aether.env import Rate
from aether.tests.api_fixtures import session_client
from onboarding.models import OnboardingRun, OnboardingStatus
from onboarding.selectors import onboarding_state_of
from onboarding.services import onboard_user
from onboarding.tests.faults import replace_onboarding_step

pytestmark = pytest.mark.django_db


def test_a_completed_onboarding_says_when_and_how_long_it_took(client, user):
    run = onboard_user(user=user, trigger="login")
    client.force_login(user)

    page = client.get("/").content.decode()

    completed_at = onboarding_state_of(user).completed_at
    assert '<strong class="status status-ok">Completed</strong>' in page
    assert f'<time datetime="{completed_at.isoformat()}' in page
    assert f", in {run.duration_ms} ms." in page
    assert "Try again" not in page


def test_a_failed_onboarding_names_the_step_and_offers_to_try_again(client, user, fail_step):
    fail_step("documents")
    onboard_user(user=user, trigger="login")
    client.force_login(user)

    page = client.get("/").content.decode()

    assert "Setting up your workspace did not finish" in page
    assert "We could not add the sample guides to your “Getting Started” notebook." in page
    assert "“Try again” creates only what is missing." in page
    # The error is for staff (the run record, the admin): never shown to the user.
    assert "injected failure" not in page
    assert "RuntimeError" not in page
    assert '<form method="post" action="/onboarding/retry/">' in page
    assert "Try again</button>" in page


def test_trying_again_runs_onboarding_and_shows_the_resources(client, user, fail_step, monkeypatch):
    fail_step("agent")
    onboard_user(user=user, trigger="login")
    monkeypatch.undo()  # the fault is gone: the retry runs the real steps
    client.force_login(user)

    response = client.post("/onboarding/retry/", follow=True)

    page = response.content.decode()
    assert "Your workspace is ready." in page
    assert "Getting Started" in page
    assert "Personal Assistant" in page
    retry = OnboardingRun.objects.filter(user=user).order_by("-started_at").first()
    assert (retry.trigger, retry.status, retry.actor, retry.forced) == ("retry", "completed", user, True)


def test_a_retry_that_fails_again_says_so(client, user, fail_step):
    fail_step("notebook")
    onboard_user(user=user, trigger="login")
    client.force_login(user)

    page = client.post("/onboarding/retry/", follow=True).content.decode()

    assert (
        "Setting up your workspace failed again. We could not create your “Getting Started” notebook." in page
    )
    assert onboarding_state_of(user).status == OnboardingStatus.FAILED


def test_a_user_never_onboarded_can_set_up_now(client, user):
    client.force_login(user)

    page = client.get("/").content.decode()
    assert "Your workspace is not set up yet" in page
    assert "Set up now</button>" in page

    client.post("/onboarding/retry/")
    assert onboarding_state_of(user).status == OnboardingStatus.COMPLETED


def test_a_timed_out_onboarding_says_it_took_too_long(client, user, settings, monkeypatch):
    settings.ONBOARDING_TIMEOUT_SECONDS = 1

    def slow_notebook_step(real, ctx):
        # Failure injection: the real step, then a stall past the run's time limit.
        created = real(ctx)
        time.sleep(1.05)
        return created

    replace_onboarding_step(monkeypatch, "notebook", slow_notebook_step)
    onboard_user(user=user, trigger="login")
    client.force_login(user)

    page = client.get("/").content.decode()

    assert (
        "We could not create your “Getting Started” notebook. It took too long, so we stopped and undid it."
        in page
    )
    assert "timed out" not in page


def test_retrying_needs_a_post(client, user):
    client.force_login(user)

    assert client.get("/onboarding/retry/").status_code == 405
    assert not OnboardingRun.objects.filter(user=user).exists()


def test_trying_again_too_often_says_when_and_runs_nothing(client, user, fail_step, settings):
    settings.ONBOARDING_RETRY_THROTTLE = Rate(2, 3600)
    fail_step("agent")
    onboard_user(user=user, trigger="login")
    client.force_login(user)

    first = client.post("/onboarding/retry/", follow=True).content.decode()
    # The API's retries count against the same rate as the page's.
    assert session_client(user).post("/api/v1/users/me/onboarding/retry").status_code == 200
    refused = client.post("/onboarding/retry/", follow=True)

    assert "Setting up your workspace failed again." in first
    page = refused.content.decode()
    assert refused.redirect_chain == [("/", 302)]
    assert "You have tried again several times just now. Try again in" in page
    assert "minutes." in page
    assert OnboardingRun.objects.filter(user=user, trigger="retry").count() == 2
