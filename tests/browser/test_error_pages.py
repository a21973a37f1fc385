"""Error pages and the upload's size error in a real Chromium, with debug on and off."""

import pytest
from playwright.sync_api import expect

from accounts.models import Membership, User
from accounts.services import membership_add, space_create_organization
from notebooks.models import Document
from onboarding.models import UserOnboarding
from tests.signin import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

MIB = 1024 * 1024


def upload(page, directory, *, size: int, name: str = "") -> None:
    # A file on disk, which the local browser reads itself: megabytes sent as a buffer cross the
    # driver's protocol encoded, and on a busy machine that alone can outlast the action's timeout.
    path = directory / "notes.txt"
    path.write_bytes(b"x" * size)
    page.get_by_label("Text file").set_input_files(path)
    page.get_by_label("Name (optional)").fill(name)
    page.get_by_role("button", name="Upload").click()


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_an_upload_over_the_limit_shows_its_exact_size_next_to_the_field(
    open_page, live_server, dev_provider, settings, screenshots, debug, tmp_path
):
    settings.DEBUG = debug
    page = open_page()
    sign_in(page, live_server.url, sub="ada", email="ada@example.com", name="Ada Lovelace")
    page.get_by_role("link", name="Getting Started").first.click()
    error = page.locator("#id_file_error")

    upload(page, tmp_path, size=10 * MIB + 1, name="One byte over")
    expect(error).to_have_text("The file is 10,485,761 bytes; the limit is 10,485,760 bytes (10 MiB).")
    expect(page.get_by_label("Name (optional)")).to_have_value("One byte over")
    expect(page.get_by_label("Text file")).to_have_attribute("aria-invalid", "true")

    upload(page, tmp_path, size=11 * MIB, name="Eleven")
    expect(error).to_have_text(
        "The file is 11,534,336 bytes (11 MiB); the limit is 10,485,760 bytes (10 MiB)."
    )
    if not debug:
        screenshots(page, "upload-too-large")

    # Too large to be worth reading at all: answered before the body is read, still on the form.
    settings.DOCUMENT_MAX_BYTES = 1000
    upload(page, tmp_path, size=200_000)
    expect(error).to_contain_text("documents may be at most 1,000 bytes.")
    expect(error).to_contain_text("The upload is 200,")
    assert (
        not Document.objects.filter(notebook__name="Getting Started")
        .exclude(onboarding_key__isnull=False)
        .exists()
    )


def test_a_form_too_large_for_the_server_answers_the_sites_413_page_under_debug(
    open_page, live_server, dev_provider, settings, screenshots
):
    settings.DEBUG = True
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    page = open_page()
    sign_in(page, live_server.url, sub="ada", email="ada@example.com", name="Ada Lovelace")

    page.goto("/spaces/new/")
    page.get_by_label("Name").fill("Acme")
    page.get_by_label("Description").fill("x" * 3000)
    page.get_by_role("button", name="Create space").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("What you sent is too large")
    expect(page.locator("main")).to_contain_text("Nothing was saved.")
    screenshots(page, "error-413")
    page.get_by_role("link", name="Go back").click()
    expect(page).to_have_url(f"{live_server.url}/spaces/new/")


@pytest.mark.urls("aether.tests.urls_failing")
def test_the_500_and_503_pages_are_the_sites_with_a_way_home(open_page, live_server, ada, screenshots):
    page = open_page(ada)

    page.goto("/failing/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Something went wrong on our side")
    expect(page.locator("main")).not_to_contain_text("RuntimeError")
    screenshots(page, "error-500")

    page.goto("/unavailable/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Aether is unavailable for a moment")
    screenshots(page, "error-503")
    page.get_by_role("link", name="Try the home page again").click()
    expect(page).to_have_title("Ada Lovelace's Personal Space · Aether")


def test_a_new_users_ready_note_shows_in_the_personal_space_until_dismissed(
    open_page, live_server, dev_provider, make_user, screenshots
):
    page = open_page()
    sign_in(page, live_server.url, sub="ada", email="ada@example.com", name="Ada Lovelace")
    ada = User.objects.get(sub="ada")
    acme = space_create_organization(owner=make_user(), name="Acme Research")
    membership_add(space=acme, user=ada, role=Membership.Role.MEMBER)

    panel = page.locator(".onboarding")
    expect(panel).to_contain_text("Your workspace is ready")
    screenshots(page, "onboarding-ready")
    page.goto(f"/spaces/{acme.pk}/")
    expect(panel).to_have_count(0)
    screenshots(page, "dashboard-organization")

    page.get_by_label("Space", exact=True).select_option(label="Ada Lovelace's Personal Space")
    page.get_by_role("button", name="Switch").click()
    page.get_by_role("button", name="Dismiss").click()
    expect(panel).to_have_count(0)
    expect(page.get_by_role("link", name="Getting Started")).to_be_visible()
    assert UserOnboarding.objects.get(user=ada).notice_dismissed_at is not None
