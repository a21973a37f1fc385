"""What a member does on the pages, in a real Chromium after the real sign-in: agents, organization
spaces and their members, document renames and search."""

import pytest
from playwright.sync_api import expect

from accounts.models import Membership, Space, User
from accounts.selectors import personal_space_of
from accounts.services import membership_add, space_create_organization
from notebooks.models import Agent, Document
from notebooks.services import agent_create, notebook_create
from tests.signin import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]


def sign_in_as(open_page, live_server, *, sub: str, name: str):
    page = open_page()
    email = f"{sub}@example.com"
    sign_in(page, live_server.url, sub=sub, email=email, name=name)
    return page, User.objects.get(sub=sub)


def test_a_member_creates_edits_and_deletes_an_agent_with_knowledge_from_two_notebooks(
    open_page, live_server, dev_provider, screenshots
):
    page, ada = sign_in_as(open_page, live_server, sub="ada", name="Ada Lovelace")
    notebook_create(space=personal_space_of(ada), owner=ada, name="Lab notes")
    page.reload()

    page.get_by_role("link", name="New agent").click()
    expect(page).to_have_title("New agent · Ada Lovelace's Personal Space · Aether")
    screenshots(page, "agent-new")
    # Refused first: the messages stand next to their fields and what was typed stays.
    page.get_by_label("Name", exact=True).fill("   ")
    page.get_by_label("Temperature").fill("3")
    page.get_by_label("Model").fill("gpt-4o")
    page.get_by_role("button", name="Create agent").click()
    expect(page.locator("#id_name_error")).to_have_text("This field is required.")
    expect(page.locator("#id_temperature_error")).to_have_text(
        "Ensure this value is less than or equal to 2.0."
    )
    expect(page.get_by_label("Model")).to_have_value("gpt-4o")
    screenshots(page, "agent-form-errors")

    page.get_by_label("Name", exact=True).fill("Lab assistant")
    page.get_by_label("Temperature").fill("0.2")
    page.get_by_label("Max tokens").fill("1000")
    page.get_by_label("Getting Started").check()
    page.get_by_label("Lab notes").check()
    page.get_by_role("button", name="Create agent").click()

    expect(page.get_by_role("status")).to_contain_text("Agent “Lab assistant” created.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Lab assistant")
    knowledge = page.locator("section", has=page.get_by_role("heading", name="Knowledge notebooks"))
    expect(knowledge.get_by_role("link")).to_have_text(["Getting Started", "Lab notes"])
    screenshots(page, "agent-detail")

    page.get_by_role("link", name="Edit").click()
    screenshots(page, "agent-edit")
    page.get_by_label("Model").fill("gpt-4.1")
    page.get_by_label("Temperature").fill("1.1")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Agent saved.")
    expect(page.locator(".metadata")).to_contain_text("gpt-4.1")
    agent = Agent.objects.get(name="Lab assistant")
    assert (agent.model, agent.temperature, agent.knowledge_notebooks.count()) == ("gpt-4.1", 1.1, 2)

    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete the agent “Lab assistant”?")
    screenshots(page, "agent-delete")
    page.get_by_role("button", name="Delete agent").click()
    expect(page.get_by_role("status")).to_contain_text("Agent “Lab assistant” deleted.")
    expect(page.get_by_role("link", name="Lab assistant")).to_have_count(0)
    assert not Agent.objects.filter(name="Lab assistant").exists()


def test_a_viewer_sees_agents_without_edit_controls_and_gets_403_if_they_post(
    open_page, live_server, dev_provider, make_user, screenshots
):
    grace = make_user(full_name="Grace Hopper")
    acme = space_create_organization(owner=grace, name="Acme Research")
    agent = agent_create(space=acme, owner=grace, name="Shared helper")
    page, ada = sign_in_as(open_page, live_server, sub="ada", name="Ada Lovelace")
    membership_add(space=acme, user=ada, role=Membership.Role.VIEWER)

    page.goto(f"/spaces/{acme.pk}/")
    expect(page.get_by_role("link", name="Shared helper")).to_be_visible()
    expect(page.get_by_role("link", name="New agent")).to_have_count(0)
    page.get_by_role("link", name="Shared helper").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Shared helper")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.get_by_role("link", name="Delete")).to_have_count(0)

    csrf_token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    for url in (f"/agents/{agent.pk}/edit/", f"/agents/{agent.pk}/delete/", f"/spaces/{acme.pk}/agents/new/"):
        answer = page.request.post(url, form={"csrfmiddlewaretoken": csrf_token, "name": "Taken over"})
        assert answer.status == 403, url
        assert "Viewers can read this space but not change it." in answer.text()
    agent.refresh_from_db()
    assert agent.name == "Shared helper"

    page.goto(f"/agents/{agent.pk}/edit/")
    expect(page.get_by_role("heading", level=1)).to_have_text("You cannot do this here")
    screenshots(page, "error-403")


def test_a_user_creates_a_space_and_manages_its_members_within_the_rules(
    open_page, live_server, dev_provider, screenshots
):
    grace_page, grace = sign_in_as(open_page, live_server, sub="grace", name="Grace Hopper")
    page, _ada = sign_in_as(open_page, live_server, sub="ada", name="Ada Lovelace")

    page.get_by_role("link", name="Spaces").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your spaces")
    page.get_by_role("link", name="New organization space").click()
    page.get_by_role("button", name="Create space").click()
    expect(page.locator("#id_name_error")).to_have_text("This field is required.")
    screenshots(page, "space-new")
    page.get_by_label("Name").fill("Acme Research")
    page.get_by_label("Description").fill("Where the lab shares its notes.")
    page.get_by_role("button", name="Create space").click()

    expect(page).to_have_title("Acme Research · Aether")
    acme = Space.objects.get(name="Acme Research")
    expect(page.get_by_label("Space", exact=True)).to_have_value(str(acme.pk))
    page.get_by_role("link", name="Members").click()
    last_owner = "The space's last owner can be neither removed nor demoted: make another member owner first."
    expect(page.locator(".member", has_text="Ada Lovelace")).to_contain_text(last_owner)
    expect(page.get_by_role("link", name="Remove")).to_have_count(0)

    page.get_by_label("E-mail address").fill("grace@example.com")
    page.get_by_label("Role", exact=True).select_option("member")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("status")).to_contain_text("Grace Hopper added as member.")

    page.get_by_label("Role of Grace Hopper").select_option("admin")
    page.get_by_role("button", name="Change role").click()
    expect(page.get_by_role("status")).to_contain_text("Grace Hopper is now admin.")
    screenshots(page, "members")
    assert Membership.objects.get(space=acme, user=grace).role == "admin"

    page.get_by_role("link", name="Remove").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove Grace Hopper from “Acme Research”?")
    screenshots(page, "member-remove")
    page.get_by_role("button", name="Remove member").click()
    expect(page.get_by_role("status")).to_contain_text("Grace Hopper removed from “Acme Research”.")
    assert not Membership.objects.filter(space=acme, user=grace).exists()
    # Ada stays the last owner, still without the controls that could not work.
    expect(page.locator(".member", has_text="Ada Lovelace")).to_contain_text(last_owner)
    page.get_by_role("link", name="Spaces").click()
    expect(page.locator(".space-list")).to_contain_text("your role: Owner")
    screenshots(page, "spaces")

    grace_page.goto(f"/spaces/{acme.pk}/members/")
    expect(grace_page.get_by_role("heading", level=1)).to_have_text("This page does not exist")
    assert grace_page.title() == "Page not found · Aether"
    screenshots(grace_page, "error-404")


def test_renaming_a_document_keeps_its_text_and_search_stays_in_the_space(
    open_page, live_server, dev_provider, make_user, screenshots
):
    page, ada = sign_in_as(open_page, live_server, sub="ada", name="Ada Lovelace")
    space = personal_space_of(ada)
    notebook_create(space=space, owner=ada, name="Quantum notes")
    notebook_create(space=space, owner=ada, name="Reading", description="Papers on quantum error correction")
    notebook_create(space=space, owner=ada, name="Lab", tags=["Quantum-lab"])
    notebook_create(space=space, owner=ada, name="Cooking")
    grace = make_user()
    shared = space_create_organization(owner=grace, name="Acme")
    membership_add(space=shared, user=ada, role=Membership.Role.MEMBER)
    notebook_create(space=shared, owner=grace, name="Quantum in Acme")
    stranger = space_create_organization(owner=grace, name="Secret lab")
    notebook_create(space=stranger, owner=grace, name="Quantum secrets")

    page.goto("/")
    page.get_by_role("link", name="Welcome to Aether.txt").click()
    text = page.locator("pre.document-text").inner_text()
    page.get_by_role("link", name="Rename").click()
    screenshots(page, "document-rename")
    page.get_by_label("Name").fill("Start here.txt")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("status")).to_contain_text("Document renamed to “Start here.txt”.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Start here.txt")
    assert page.locator("pre.document-text").inner_text() == text
    document = Document.objects.get(name="Start here.txt")
    assert document.content.splitlines()[0] == text.splitlines()[0]

    page.goto("/")
    page.get_by_label("Search notebooks").fill("QUANTUM")
    page.get_by_role("button", name="Search").click()
    results = page.locator(".notebook h3")
    expect(results).to_have_count(3)
    assert sorted(results.all_inner_texts()) == ["Lab", "Quantum notes", "Reading"]
    expect(page.get_by_text("Quantum in Acme")).to_have_count(0)
    expect(page.get_by_text("Quantum secrets")).to_have_count(0)
    screenshots(page, "search")
