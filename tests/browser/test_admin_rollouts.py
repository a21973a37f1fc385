"""A roll-out from the admin in a real Chromium, with a real worker: preview, start, progress by itself."""

import pytest
from playwright.sync_api import expect

from onboarding.models import Rollout
from onboarding.services import onboard_user
from onboarding.tests.rollout_fixtures import publish_version_2
from onboarding.tests.workers import start_worker, stop
from tests.browser.conftest import DESKTOP, SCREENSHOTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]


def test_an_onboarding_manager_rolls_a_version_out_and_watches_it_finish(
    open_page, screenshot, on_version_1, onboarding_manager, make_user
):
    for _ in range(9):
        onboard_user(user=make_user(), trigger="login")
    current = publish_version_2()

    page = open_page(user=onboarding_manager, viewport=DESKTOP)
    page.goto(f"/admin/onboarding/blueprint/{current.pk}/change/")
    preview = page.get_by_role("region", name="Roll this version out to users onboarded before it")
    expect(preview).to_contain_text("It would reach 12 users on version 1.")
    expect(
        preview.get_by_role("row", name="Deleted by the user: stays deleted 1 1 deleted@example.com")
    ).to_be_visible()
    expect(
        preview.get_by_role("row", name="Renamed by the user: their name is kept 1 1 renamed@example.com")
    ).to_be_visible()
    screenshot(page, "admin-rollout-preview")
    preview.screenshot(path=str(SCREENSHOTS / "admin-rollout-preview-box.png"))

    preview.get_by_role("button", name="Start the roll-out").click()

    rollout = Rollout.objects.get()
    expect(page).to_have_url(f"/admin/onboarding/rollout/{rollout.pk}/change/")
    expect(page.locator("[data-count=remaining]")).to_have_text("12")
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    screenshot(page, "admin-rollout-waiting-for-a-worker")

    worker = start_worker()
    try:
        # No reload by the test: the page reads the progress and shows the end by itself.
        expect(page.locator("[data-count=done]")).to_have_text("12", timeout=30_000)
        expect(page.get_by_text("The roll-out is completed.")).to_be_visible(timeout=10_000)
    finally:
        stop(worker)
    expect(page.get_by_role("button", name="Pause")).to_have_count(0)
    screenshot(page, "admin-rollout-completed")

    page.goto("/admin/onboarding/rollout/")
    expect(page.get_by_role("row", name=f"#{rollout.pk}")).to_contain_text("12 / 0 / 0 / 0")
    screenshot(page, "admin-rollouts")
