"""The web pages in a real Chromium: what a person sees and does, under the site's strict CSP."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Membership, User
from accounts.services import membership_add, space_create_organization
from aether.env import Rate
from notebooks.models import Document, Notebook
from notebooks.services import document_create, notebook_create
from onboarding.models import OnboardingRun
from onboarding.selectors import onboarding_agent_of, onboarding_notebook_of
from tests.browser.conftest import DESKTOP, PHONE
from tests.signin import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]

XSS = "<script>alert(1)</script>"


def test_a_new_user_signs_in_and_sees_the_onboarding_resources(
    open_page, live_server, dev_provider, screenshot
):
    for viewport, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = open_page(viewport=viewport)
        sign_in(page, live_server.url, sub="ada-web", email="ada@example.com", name="Ada Lovelace")

        expect(page).to_have_title("Ada Lovelace's Personal Space · Aether")
        expect(page.get_by_role("heading", name="Getting Started")).to_be_visible()
        for document in ("Welcome to Aether.txt", "Quick Start Guide.txt", "Sample FAQ.txt"):
            expect(page.get_by_role("link", name=document)).to_be_visible()
        expect(page.get_by_role("link", name="Personal Assistant")).to_be_visible()
        expect(page.locator(".onboarding")).to_contain_text("Completed")
        expect(page.locator(".user-name")).to_have_text("Ada Lovelace")
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        screenshot(page, f"dashboard-{name}")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
    # The second sign-in found everything in place: one completed run, one of each resource.
    assert OnboardingRun.objects.filter(user__sub="ada-web", status="completed").count() == 1
    assert Notebook.objects.filter(owner__sub="ada-web").count() == 1


def test_a_new_user_opens_the_welcome_document_and_reads_its_first_line(
    open_page, live_server, dev_provider, screenshots
):
    page = open_page()
    sign_in(page, live_server.url, sub="ada-web", email="ada@example.com", name="Ada Lovelace")
    first_line = Document.objects.get(name="Welcome to Aether.txt").content.splitlines()[0]

    page.get_by_role("link", name="Welcome to Aether.txt").click()

    expect(page).to_have_title("Welcome to Aether.txt · Getting Started · Aether")
    text = page.locator("pre.document-text")
    expect(text).to_be_visible()
    assert text.inner_text().splitlines()[0] == first_line
    assert page.locator("pre.document-text").evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"
    expect(page.locator(".metadata")).to_contain_text("A sample guide, added when your workspace was set up")
    expect(page.locator(".metadata")).not_to_contain_text("is_sample")
    # One paragraph a line: on a phone the text reflows instead of breaking raggedly.
    screenshots(page, "document-welcome")


def test_a_user_creates_a_notebook_and_uploads_a_document(
    open_page, live_server, dev_provider, settings, screenshot
):
    page = open_page()
    sign_in(page, live_server.url, sub="ada-web", email="ada@example.com", name="Ada Lovelace")

    page.get_by_role("link", name="New notebook").click()
    page.get_by_label("Name").fill("Research")
    page.get_by_label("Tags (optional)").fill("papers, ml")
    page.get_by_role("button", name="Create notebook").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Research")
    expect(page.get_by_role("status")).to_contain_text("Notebook “Research” created.")

    settings.DOCUMENT_MAX_BYTES = 100
    page.get_by_label("Text file").set_input_files(
        {"name": "too-big.txt", "mimeType": "text/plain", "buffer": b"x" * 101}
    )
    page.get_by_role("button", name="Upload").click()
    error = page.locator("#id_file_error")
    expect(error).to_have_text("The file is 101 bytes; the limit is 100 bytes.")
    expect(page.get_by_label("Text file")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "upload-error-desktop")

    page.get_by_label("Text file").set_input_files(
        {"name": "reading-list.txt", "mimeType": "text/plain", "buffer": b"Attention is all you need\n"}
    )
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_role("status")).to_contain_text("Document “reading-list.txt” uploaded.")
    page.get_by_role("link", name="reading-list.txt").click()
    expect(page.locator("pre.document-text")).to_have_text("Attention is all you need\n")
    assert Notebook.objects.get(name="Research").documents.count() == 1


def test_a_user_renames_and_deletes_a_notebook_after_confirming(open_page, ada):
    notebook = notebook_create(space=onboarding_notebook_of(ada).space, owner=ada, name="Drafts")
    page = open_page(ada)
    page.goto(notebook.get_absolute_url())

    page.get_by_role("link", name="Rename or edit").click()
    page.get_by_label("Name").fill("Old drafts")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Old drafts")

    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete the notebook “Old drafts”?")
    page.get_by_role("button", name="Delete notebook").click()

    expect(page.get_by_role("status")).to_contain_text("Notebook “Old drafts” deleted.")
    expect(page.get_by_role("link", name="Old drafts")).to_have_count(0)


def test_a_user_switches_to_an_organization_space_with_the_keyboard(
    open_page, live_server, dev_provider, make_user, screenshot
):
    page = open_page()
    sign_in(page, live_server.url, sub="ada-web", email="ada@example.com", name="Ada Lovelace")
    owner = make_user(full_name="Grace Hopper")
    organization = space_create_organization(owner=owner, name="Acme Research")
    notebook_create(space=organization, owner=owner, name="Lab protocols")
    membership_add(space=organization, user=User.objects.get(sub="ada-web"), role=Membership.Role.MEMBER)
    page.reload()

    switcher = page.get_by_label("Space", exact=True)
    switcher.focus()
    switcher.select_option(label="Acme Research (Member)")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Switch")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page).to_have_title("Acme Research · Aether")
    expect(page.get_by_role("link", name="Lab protocols")).to_be_visible()
    expect(page.get_by_role("link", name="Getting Started")).to_have_count(0)
    expect(page.get_by_label("Space", exact=True)).to_have_value(str(organization.pk))
    screenshot(page, "organization-desktop")


def test_the_first_tab_reaches_the_skip_link(open_page, ada):
    page = open_page(ada)
    page.goto("/")

    page.keyboard.press("Tab")

    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()


def test_a_user_whose_onboarding_failed_tries_again_and_sees_the_resources(
    open_page, live_server, dev_provider, fail_step, monkeypatch, screenshots
):
    fail_step("documents", RuntimeError("the document store did not answer"))
    page = open_page()
    sign_in(page, live_server.url, sub="ada-web", email="ada@example.com", name="Ada Lovelace")

    panel = page.locator(".onboarding")
    expect(panel).to_contain_text("Setting up your workspace did not finish")
    expect(panel).to_contain_text("We could not add the sample guides to your “Getting Started” notebook.")
    expect(panel).not_to_contain_text("RuntimeError")
    expect(panel).not_to_contain_text("the document store did not answer")
    screenshots(page, "onboarding-failed")

    monkeypatch.undo()  # the fault is repaired; the retry runs the real steps
    page.get_by_role("button", name="Try again").click()

    expect(page.get_by_role("status")).to_contain_text("Your workspace is ready.")
    expect(panel).to_contain_text("Completed")
    expect(page.get_by_role("link", name="Welcome to Aether.txt")).to_be_visible()
    expect(page.get_by_role("link", name="Personal Assistant")).to_be_visible()


def test_trying_again_too_often_is_refused_with_when_to_come_back(
    open_page, live_server, dev_provider, fail_step, settings, screenshots
):
    settings.ONBOARDING_RETRY_THROTTLE = Rate(1, 60)
    fail_step("documents", RuntimeError("the document store did not answer"))
    page = open_page()
    sign_in(page, live_server.url, sub="ada-retries", email="ada@example.com", name="Ada Lovelace")

    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("status")).to_contain_text("Setting up your workspace failed again.")
    page.get_by_role("button", name="Try again").click()

    status = page.get_by_role("status")
    expect(status).to_contain_text("You have tried again several times just now. Try again in")
    expect(status).not_to_contain_text("failed again")
    screenshots(page, "onboarding-retry-throttled")


def test_a_script_in_user_text_renders_as_text_on_every_page(open_page, ada):
    space = onboarding_notebook_of(ada).space
    notebook = notebook_create(space=space, owner=ada, name=XSS, description=XSS, tags=[XSS])
    document = document_create(notebook=notebook, name=XSS, data=XSS)
    agent = onboarding_agent_of(ada)
    agent.knowledge_notebooks.add(notebook)
    page = open_page(ada)

    for url in (
        "/",
        notebook.get_absolute_url(),
        f"/notebooks/{notebook.pk}/edit/",
        f"/notebooks/{notebook.pk}/delete/",
        document.get_absolute_url(),
        f"/documents/{document.pk}/delete/",
        agent.get_absolute_url(),
    ):
        page.goto(url)
        expect(page.get_by_text(XSS).first).to_be_visible()
        assert re.search(re.escape(XSS), page.title() + page.inner_text("body")), url
    assert open_page.watch.dialogs == []
    assert open_page.watch.csp_violations == []


def test_notebook_document_and_agent_pages_fit_a_phone(open_page, ada, screenshot):
    notebook = onboarding_notebook_of(ada)
    document = document_create(notebook=notebook, name="long-line.txt", data="x" * 400 + "\nend")
    page = open_page(ada, viewport=PHONE)

    for name, url in (
        ("notebook", notebook.get_absolute_url()),
        ("document", document.get_absolute_url()),
        ("agent", onboarding_agent_of(ada).get_absolute_url()),
    ):
        page.goto(url)
        screenshot(page, f"{name}-phone")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name


def test_a_visitor_sees_what_aether_is_and_a_sign_in_button(open_page, screenshots):
    page = open_page()
    page.goto("/")

    expect(page).to_have_title("Aether: your knowledge workspace")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your team's knowledge, in one workspace")
    expect(page.get_by_role("link", name="Sign in")).to_have_attribute("href", "/oidc/authenticate/")
    # What agents are, and no promise of answers: nothing in Aether asks a model anything.
    expect(page.locator(".features")).to_contain_text("Agents are stored configurations")
    expect(page.locator("main")).to_contain_text("calls no model")
    expect(page.locator("main")).not_to_contain_text("ask AI")
    screenshots(page, "landing")
