import pytest

from accounts.models import Membership
from accounts.services import membership_add, space_create_organization
from notebooks.models import Agent
from notebooks.services import notebook_create

pytestmark = pytest.mark.django_db


def test_the_onboarding_agent_is_listed_with_its_knowledge(api_client, ada):
    client = api_client(ada)
    notebook_id = client.get("/api/v1/notebooks").json()["results"][0]["id"]

    agents = client.get("/api/v1/agents").json()["results"]

    assert [a["name"] for a in agents] == ["Personal Assistant"]
    agent = agents[0]
    assert (agent["type"], agent["model"], agent["temperature"], agent["max_tokens"]) == (
        "qa",
        "gpt-4",
        0.7,
        2000,
    )
    assert agent["notebook_ids"] == [notebook_id]
    assert set(agent) == {
        "id",
        "space_id",
        "name",
        "description",
        "type",
        "model",
        "temperature",
        "max_tokens",
        "system_prompt",
        "notebook_ids",
        "tags",
        "created_at",
    }


def test_create_update_delete_with_knowledge_in_the_same_space(api_client, ada):
    space = ada.owned_spaces.get(type="personal")
    first = notebook_create(space=space, owner=ada, name="First")
    second = notebook_create(space=space, owner=ada, name="Second")
    client = api_client(ada)

    created = client.post(
        "/api/v1/agents",
        {"name": "Helper", "type": "conversational", "temperature": 0.2, "notebook_ids": [str(first.pk)]},
        format="json",
    )
    assert created.status_code == 201, created.content
    agent = created.json()
    assert (agent["type"], agent["temperature"], agent["notebook_ids"]) == (
        "conversational",
        0.2,
        [str(first.pk)],
    )

    changed = client.patch(
        f"/api/v1/agents/{agent['id']}", {"notebook_ids": [str(second.pk)], "max_tokens": 10}, format="json"
    ).json()
    assert (changed["notebook_ids"], changed["max_tokens"], changed["name"]) == (
        [str(second.pk)],
        10,
        "Helper",
    )

    assert client.delete(f"/api/v1/agents/{agent['id']}").status_code == 204
    assert not Agent.objects.filter(pk=agent["id"]).exists()


def test_knowledge_from_another_space_is_refused_like_an_unknown_notebook(api_client, ada, make_user):
    stranger = make_user()
    foreign = notebook_create(
        space=space_create_organization(owner=stranger, name="Theirs"), owner=stranger, name="Secret"
    )
    acme = space_create_organization(owner=ada, name="Acme")
    own_other_space = notebook_create(space=acme, owner=ada, name="Acme notes")
    client = api_client(ada)

    notebook_ids = [str(foreign.pk), str(own_other_space.pk), "00000000-0000-4000-8000-000000000000"]
    answers = [
        client.post("/api/v1/agents", {"name": "Spy", "notebook_ids": [notebook_id]}, format="json")
        for notebook_id in notebook_ids
    ]

    assert [a.status_code for a in answers] == [400, 400, 400]
    assert [a.json() for a in answers] == [
        {"notebook_ids": [f"No notebook {notebook_id} in this space."]} for notebook_id in notebook_ids
    ]
    assert not Agent.objects.filter(name="Spy").exists()


def test_invalid_agent_fields_answer_field_errors(api_client, ada):
    response = api_client(ada).post(
        "/api/v1/agents", {"name": "", "temperature": 3, "max_tokens": 0, "type": "oracle"}, format="json"
    )
    assert response.status_code == 400
    assert {"name", "temperature", "max_tokens", "type"} <= set(response.json())


def test_a_viewer_cannot_create_agents(api_client, ada, make_user):
    acme = space_create_organization(owner=ada, name="Acme")
    viewer = make_user()
    membership_add(space=acme, user=viewer, role=Membership.Role.VIEWER)

    response = api_client(viewer).post(
        "/api/v1/agents", {"name": "Mine"}, format="json", HTTP_X_SPACE_ID=str(acme.pk)
    )

    assert response.status_code == 403
    assert not Agent.objects.filter(space=acme).exists()


def test_agent_texts_are_bounded(api_client, ada):
    client = api_client(ada)

    response = client.post(
        "/api/v1/agents",
        {"name": "Verbose", "description": "x" * 10_001, "system_prompt": "x" * 32_001},
        format="json",
    )
    longest = client.post(
        "/api/v1/agents",
        {"name": "Verbose", "description": "x" * 10_000, "system_prompt": "x" * 32_000},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "description": ["Ensure this field has no more than 10000 characters."],
        "system_prompt": ["Ensure this field has no more than 32000 characters."],
    }
    assert longest.status_code == 201
