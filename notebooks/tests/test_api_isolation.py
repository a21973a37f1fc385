"""A user who is not a member of a space can neither see nor change anything in it, by any route."""

import pytest

from accounts.models import Membership, Space
from accounts.services import space_create_organization
from notebooks.models import Agent, Document, Notebook
from notebooks.services import agent_create, document_create, notebook_create
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db


def _snapshot() -> dict:
    """Everything the walk could change, as plain values."""
    return {
        "spaces": sorted(Space.objects.values_list("pk", "name", "description")),
        "memberships": sorted(Membership.objects.values_list("space_id", "user_id", "role")),
        "notebooks": sorted(Notebook.objects.values_list("pk", "name", "description", "tags", "space_id")),
        "documents": sorted(Document.objects.values_list("pk", "name", "content", "metadata")),
        "agents": sorted(Agent.objects.values_list("pk", "name", "space_id")),
        "knowledge": sorted(Agent.knowledge_notebooks.through.objects.values_list("agent_id", "notebook_id")),
    }


@pytest.fixture
def victim(make_user):
    """A user with a personal and an organization space, each holding a notebook, a document and an agent."""
    owner = make_user(email="victim@example.com")
    onboard_user(user=owner, trigger="login")
    acme = space_create_organization(owner=owner, name="Acme secrets")
    notebook = notebook_create(space=acme, owner=owner, name="Secret plans", tags=["secret"])
    document = document_create(notebook=notebook, name="plans.txt", data="the secret")
    agent = agent_create(space=acme, owner=owner, notebook_ids=[notebook.pk], name="Secret agent")
    personal_notebook = Notebook.objects.get(owner=owner, onboarding_key__isnull=False)
    return {
        "user": owner,
        "spaces": [owner.owned_spaces.get(type="personal"), acme],
        "notebooks": [notebook, personal_notebook],
        "documents": [document, personal_notebook.documents.first()],
        "agents": [agent, Agent.objects.get(owner=owner, onboarding_key__isnull=False)],
    }


def test_an_outsider_walks_every_route_and_finds_nothing(api_client, make_user, victim):
    outsider = make_user(email="outsider@example.com")
    onboard_user(user=outsider, trigger="login")
    own_notebook = Notebook.objects.get(owner=outsider)
    client = api_client(outsider)
    before = _snapshot()

    def expect(status: int, method: str, url: str, body: object = None, **headers: str) -> None:
        response = getattr(client, method)(url, body, format="json", **headers)
        assert response.status_code == status, (method, url, headers, response.content)
        assert "secret" not in response.content.decode().lower(), (method, url)

    for space in victim["spaces"]:
        header = {"HTTP_X_SPACE_ID": str(space.pk)}
        expect(404, "get", f"/api/v1/spaces/{space.pk}")
        expect(404, "get", f"/api/v1/spaces/{space.pk}/members")
        expect(404, "post", f"/api/v1/spaces/{space.pk}/members", {"email": "outsider@example.com"})
        expect(404, "patch", f"/api/v1/spaces/{space.pk}/members/{victim['user'].pk}", {"role": "viewer"})
        expect(404, "delete", f"/api/v1/spaces/{space.pk}/members/{victim['user'].pk}")
        expect(404, "get", "/api/v1/users/me/spaces", **header)
        for url in ["/api/v1/notebooks", "/api/v1/agents", "/api/v1/notebooks/search?query=secret"]:
            expect(404, "get", url, **header)
        expect(404, "post", "/api/v1/notebooks", {"name": "Planted"}, **header)
        expect(404, "post", "/api/v1/agents", {"name": "Planted"}, **header)

    for header in [{}, *({"HTTP_X_SPACE_ID": str(space.pk)} for space in victim["spaces"])]:
        for notebook in victim["notebooks"]:
            expect(404, "get", f"/api/v1/notebooks/{notebook.pk}", **header)
            expect(404, "patch", f"/api/v1/notebooks/{notebook.pk}", {"name": "Mine"}, **header)
            expect(404, "delete", f"/api/v1/notebooks/{notebook.pk}", **header)
            expect(404, "get", f"/api/v1/notebooks/{notebook.pk}/documents", **header)
            expect(
                404,
                "post",
                f"/api/v1/notebooks/{notebook.pk}/documents",
                {"name": "x", "content": "x"},
                **header,
            )
        for document in victim["documents"]:
            expect(404, "get", f"/api/v1/documents/{document.pk}", **header)
            expect(404, "get", f"/api/v1/documents/{document.pk}/content", **header)
            expect(404, "patch", f"/api/v1/documents/{document.pk}", {"name": "Mine"}, **header)
            expect(404, "delete", f"/api/v1/documents/{document.pk}", **header)
        for agent in victim["agents"]:
            expect(404, "get", f"/api/v1/agents/{agent.pk}", **header)
            expect(404, "patch", f"/api/v1/agents/{agent.pk}", {"name": "Mine"}, **header)
            expect(404, "delete", f"/api/v1/agents/{agent.pk}", **header)

    # In the outsider's own space: search and lists show only their things...
    found = client.get("/api/v1/notebooks/search?query=secret").json()
    assert found["count"] == 0
    assert [n["id"] for n in client.get("/api/v1/notebooks").json()["results"]] == [str(own_notebook.pk)]
    assert client.get("/api/v1/spaces").json()["count"] == 0
    # ...and an agent cannot be pointed at someone else's notebook, by create or by update.
    own_agent = Agent.objects.get(owner=outsider)
    for notebook in victim["notebooks"]:
        expect(400, "post", "/api/v1/agents", {"name": "Spy", "notebook_ids": [str(notebook.pk)]})
        expect(400, "patch", f"/api/v1/agents/{own_agent.pk}", {"notebook_ids": [str(notebook.pk)]})
    assert [n for n in own_agent.knowledge_notebooks.all()] == [own_notebook]

    assert _snapshot() == before
