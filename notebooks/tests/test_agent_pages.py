"""The agent pages: create, edit and delete stored agent configurations, with the API's rules."""

import pytest

from accounts.models import Membership
from accounts.selectors import personal_space_of
from accounts.services import membership_add, space_create_organization
from notebooks.models import Agent
from notebooks.services import agent_create, notebook_create
from onboarding.selectors import onboarding_agent_of

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


def agent_fields(**overrides: object) -> dict[str, object]:
    fields = {
        "name": "Research helper",
        "description": "Reads the papers",
        "type": "qa",
        "model": "gpt-4o",
        "temperature": "0.3",
        "max_tokens": "1500",
        "system_prompt": "Cite the paper.",
        "tags": "research, papers",
    }
    return {**fields, **overrides}


def test_a_member_creates_an_agent_with_knowledge_from_two_notebooks_of_the_space(signed_in, ada):
    space = personal_space_of(ada)
    papers = notebook_create(space=space, owner=ada, name="Papers")
    notes = notebook_create(space=space, owner=ada, name="Notes")

    form = signed_in.get(f"/spaces/{space.pk}/agents/new/").content.decode()
    assert f'value="{papers.pk}"' in form and f'value="{notes.pk}"' in form
    response = signed_in.post(
        f"/spaces/{space.pk}/agents/new/",
        agent_fields(notebook_ids=[str(papers.pk), str(notes.pk)]),
        follow=True,
    )

    agent = Agent.objects.get(name="Research helper")
    assert response.redirect_chain[-1][0] == f"/agents/{agent.pk}/"
    assert "Agent “Research helper” created." in response.content.decode()
    assert (agent.space, agent.owner, agent.model, agent.temperature, agent.max_tokens) == (
        space,
        ada,
        "gpt-4o",
        0.3,
        1500,
    )
    assert agent.tags == ["research", "papers"]
    assert set(agent.knowledge_notebooks.all()) == {papers, notes}


def test_editing_an_agent_changes_its_model_and_temperature_and_keeps_its_knowledge(signed_in, ada):
    agent = onboarding_agent_of(ada)
    knowledge = list(agent.knowledge_notebooks.all())
    form = signed_in.get(f"/agents/{agent.pk}/edit/").content.decode()
    assert 'value="gpt-4"' in form
    assert f'value="{knowledge[0].pk}"' in form and "checked" in form

    signed_in.post(
        f"/agents/{agent.pk}/edit/",
        agent_fields(
            name=agent.name, model="gpt-4.1", temperature="1.2", notebook_ids=[str(knowledge[0].pk)]
        ),
    )

    agent.refresh_from_db()
    assert (agent.model, agent.temperature) == ("gpt-4.1", 1.2)
    assert list(agent.knowledge_notebooks.all()) == knowledge


def test_deleting_an_agent_asks_first_and_keeps_its_notebooks(signed_in, ada):
    agent = onboarding_agent_of(ada)
    notebook = agent.knowledge_notebooks.get()

    page = signed_in.get(f"/agents/{agent.pk}/delete/").content.decode()
    assert "Delete the agent “Personal Assistant”?" in page
    response = signed_in.post(f"/agents/{agent.pk}/delete/", follow=True)

    assert not Agent.objects.filter(pk=agent.pk).exists()
    assert "Agent “Personal Assistant” deleted." in response.content.decode()
    notebook.refresh_from_db()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": "   "}, "name", "This field is required."),
        ({"name": "x" * 201}, "name", "Ensure this value has at most 200 characters (it has 201)."),
        ({"name": "two\nlines"}, "name", "Names cannot contain control characters"),
        ({"model": "x" * 101}, "model", "Ensure this value has at most 100 characters"),
        ({"temperature": "2.5"}, "temperature", "Ensure this value is less than or equal to 2.0."),
        ({"temperature": "nan"}, "temperature", "Enter a number."),
        ({"temperature": "1e400"}, "temperature", "Enter a number."),
        ({"max_tokens": "0"}, "max_tokens", "Ensure this value is greater than or equal to 1."),
        ({"type": "oracle"}, "type", "Select a valid choice."),
        ({"tags": "ML, ml"}, "tags", "Tags must not repeat, ignoring case: “ML” and “ml” are the same tag."),
        ({"system_prompt": "x" * 32_001}, "system_prompt", "Ensure this value has at most 32000 characters"),
        (
            {"notebook_ids": ["not-a-notebook"]},
            "notebook_ids",
            "A chosen notebook is no longer in this space",
        ),
    ],
)
def test_bad_input_is_refused_next_to_its_field_and_what_was_typed_stays(
    signed_in, ada, overrides, field, message
):
    space = personal_space_of(ada)

    response = signed_in.post(f"/spaces/{space.pk}/agents/new/", agent_fields(**overrides))

    assert response.status_code == 400
    page = response.content.decode()
    assert f'<ul class="errorlist" id="id_{field}_error"><li>{message}' in page
    assert 'value="Reads the papers"' not in page  # a textarea keeps it as its text instead
    assert "Reads the papers</textarea>" in page
    assert not Agent.objects.filter(space=space).exclude(name="Personal Assistant").exists()


def test_knowledge_is_offered_from_the_current_space_only(signed_in, ada, make_user):
    other = space_create_organization(owner=make_user(), name="Elsewhere")
    foreign = notebook_create(space=other, owner=other.owner, name="Foreign")
    space = personal_space_of(ada)

    form = signed_in.get(f"/spaces/{space.pk}/agents/new/").content.decode()
    response = signed_in.post(f"/spaces/{space.pk}/agents/new/", agent_fields(notebook_ids=[str(foreign.pk)]))

    assert "Foreign" not in form
    assert response.status_code == 400
    assert not Agent.objects.filter(name="Research helper").exists()


def test_a_viewer_sees_agents_without_edit_controls_and_is_refused_if_they_post(client, ada, make_user):
    organization = space_create_organization(owner=ada, name="Acme")
    agent = agent_create(space=organization, owner=ada, name="Shared helper")
    viewer = make_user()
    membership_add(space=organization, user=viewer, role=Membership.Role.VIEWER)
    client.force_login(viewer)

    dashboard = client.get(f"/spaces/{organization.pk}/").content.decode()
    page = client.get(f"/agents/{agent.pk}/").content.decode()

    assert "Shared helper" in dashboard and "New agent" not in dashboard
    assert "Shared helper" in page
    assert f"/agents/{agent.pk}/edit/" not in page and f"/agents/{agent.pk}/delete/" not in page
    for url in (
        f"/spaces/{organization.pk}/agents/new/",
        f"/agents/{agent.pk}/edit/",
        f"/agents/{agent.pk}/delete/",
    ):
        response = client.post(url, agent_fields())
        assert response.status_code == 403, url
        assert "Viewers can read this space but not change it." in response.content.decode()
    agent.refresh_from_db()
    assert agent.name == "Shared helper"
    assert Agent.objects.filter(space=organization).count() == 1


def test_agent_pages_of_another_space_are_not_found(client, ada, make_user):
    agent = onboarding_agent_of(ada)
    client.force_login(make_user())

    for url in (
        f"/agents/{agent.pk}/edit/",
        f"/agents/{agent.pk}/delete/",
        f"/spaces/{agent.space_id}/agents/new/",
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, agent_fields()).status_code == 404, url
    agent.refresh_from_db()
    assert agent.name == "Personal Assistant"


def test_agent_text_is_escaped_on_its_pages(signed_in, ada):
    space = personal_space_of(ada)
    notebook = notebook_create(space=space, owner=ada, name=XSS)
    agent = agent_create(
        space=space,
        owner=ada,
        name=XSS,
        description=XSS,
        system_prompt=XSS,
        tags=[XSS],
        notebook_ids=[notebook.pk],
    )

    for url in (f"/agents/{agent.pk}/", f"/agents/{agent.pk}/edit/", f"/agents/{agent.pk}/delete/", "/"):
        page = signed_in.get(url).content.decode()
        assert XSS not in page, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url
