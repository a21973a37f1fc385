"""The whole first sign-in, as a person does it, in headless Chromium."""

import pytest

from onboarding.models import OnboardingRun
from tests.signin import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_user_signs_in_sees_their_onboarding_and_signs_out(live_server, dev_provider, page):
    page.goto(f"{live_server.url}/")
    assert page.get_by_role("link", name="Sign in").is_visible()

    sign_in(page, live_server.url, sub="grace-browser", email="grace@example.com", name="Grace Hopper")

    main = page.locator("main")
    assert "Grace Hopper's Personal Space" in main.inner_text()
    for text in ("Getting Started", "Welcome to Aether.txt", "Quick Start Guide.txt", "Sample FAQ.txt"):
        assert main.get_by_text(text, exact=True).first.is_visible(), text
    assert main.get_by_text("Personal Assistant").is_visible()
    run = OnboardingRun.objects.get(user__sub="grace-browser")
    assert (run.trigger, run.status) == ("login", "completed")

    # Sign out ends the provider's session too, and the provider sends the browser back home.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{dev_provider.url}/oauth2/end_session?**")
    assert "id_token_hint" in page.url
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("link", name="Sign in").is_visible()
