import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership
from accounts.services import membership_add, space_create_organization
from notebooks.models import Notebook
from notebooks.services import notebook_create
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db


def test_list_shows_the_personal_space_notebooks_as_a_page(api_client, ada):
    body = api_client(ada).get("/api/v1/notebooks").json()

    assert (body["count"], body["next"], body["previous"]) == (1, None, None)
    notebook = body["results"][0]
    assert notebook["name"] == "Getting Started"
    assert notebook["document_count"] == 3
    assert notebook["tags"] == ["welcome", "getting-started", "onboarding"]
    assert notebook["owner_id"] == str(ada.pk)
    assert set(notebook) == {
        "id",
        "space_id",
        "owner_id",
        "name",
        "description",
        "tags",
        "visibility",
        "document_count",
        "created_at",
        "updated_at",
    }


def test_create_read_update_delete(api_client, ada):
    client = api_client(ada)

    created = client.post(
        "/api/v1/notebooks", {"name": " Plans ", "tags": ["q3"], "visibility": "shared"}, format="json"
    )
    assert created.status_code == 201, created.content
    notebook = created.json()
    assert (notebook["name"], notebook["tags"], notebook["document_count"]) == ("Plans", ["q3"], 0)
    url = f"/api/v1/notebooks/{notebook['id']}"

    assert client.get(url).json()["name"] == "Plans"
    changed = client.patch(url, {"description": "For Q3"}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["description"], changed.json()["name"]) == ("For Q3", "Plans")

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert not Notebook.objects.filter(pk=notebook["id"]).exists()


def test_invalid_input_answers_field_errors(api_client, ada):
    client = api_client(ada)

    response = client.post(
        "/api/v1/notebooks", {"name": "", "tags": ["a", "a"], "visibility": "secret"}, format="json"
    )
    assert response.status_code == 400
    assert {"name", "visibility"} <= set(response.json())

    # Rules only the model knows (distinct tags) come back as field errors too.
    response = client.post("/api/v1/notebooks", {"name": "Dup", "tags": ["a", "a"]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"tags": ["Tags must not repeat."]}

    response = client.post("/api/v1/notebooks", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_x_space_id_picks_the_space(api_client, ada, acme):
    notebook_create(space=acme, owner=ada, name="Acme plans")
    client = api_client(ada)

    in_acme = client.get("/api/v1/notebooks", HTTP_X_SPACE_ID=str(acme.pk)).json()
    assert [n["name"] for n in in_acme["results"]] == ["Acme plans"]

    created = client.post(
        "/api/v1/notebooks", {"name": "Roadmap"}, format="json", HTTP_X_SPACE_ID=str(acme.pk)
    ).json()
    assert created["space_id"] == str(acme.pk)
    # By id, objects are found in the request's space only.
    assert client.get(f"/api/v1/notebooks/{created['id']}").status_code == 404
    assert client.get(f"/api/v1/notebooks/{created['id']}", HTTP_X_SPACE_ID=str(acme.pk)).status_code == 200


def test_malformed_space_id_is_400_and_unknown_or_foreign_space_the_same_404(api_client, ada, make_user):
    stranger = make_user()
    onboard_user(user=stranger, trigger="login")
    foreign = space_create_organization(owner=stranger, name="Elsewhere")
    client = api_client(ada)

    malformed = client.get("/api/v1/notebooks", HTTP_X_SPACE_ID="not-a-uuid")
    assert malformed.status_code == 400
    assert "X-Space-ID" in malformed.json()["detail"]

    foreign_answer = client.get("/api/v1/notebooks", HTTP_X_SPACE_ID=str(foreign.pk))
    unknown_answer = client.get("/api/v1/notebooks", HTTP_X_SPACE_ID="00000000-0000-4000-8000-000000000000")
    assert foreign_answer.status_code == unknown_answer.status_code == 404
    assert foreign_answer.json() == unknown_answer.json()


def test_a_viewer_reads_but_cannot_write(api_client, ada, acme, make_user):
    viewer = make_user()
    membership_add(space=acme, user=viewer, role=Membership.Role.VIEWER)
    notebook = notebook_create(space=acme, owner=ada, name="Acme plans")
    client = api_client(viewer)
    header = {"HTTP_X_SPACE_ID": str(acme.pk)}

    assert client.get("/api/v1/notebooks", **header).json()["count"] == 1
    assert client.get(f"/api/v1/notebooks/{notebook.pk}", **header).status_code == 200
    refused = [
        client.post("/api/v1/notebooks", {"name": "Mine"}, format="json", **header),
        client.patch(f"/api/v1/notebooks/{notebook.pk}", {"name": "Mine"}, format="json", **header),
        client.delete(f"/api/v1/notebooks/{notebook.pk}", **header),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert all("detail" in r.json() for r in refused)
    notebook.refresh_from_db()
    assert notebook.name == "Acme plans"
    assert Notebook.objects.filter(space=acme).count() == 1


def test_a_user_without_a_personal_space_is_told_how_to_get_one(session_api_client, make_user):
    response = session_api_client(make_user()).get("/api/v1/notebooks")
    assert response.status_code == 404
    assert "onboarding/retry" in response.json()["detail"]


def test_listing_notebooks_costs_a_constant_number_of_queries(
    api_client, ada, acme, django_assert_num_queries
):
    client = api_client(ada)
    header = {"HTTP_X_SPACE_ID": str(acme.pk)}
    client.get("/api/v1/notebooks", **header)  # the first call of a bearer token signs in: not counted

    for number in range(5):
        notebook_create(space=acme, owner=ada, name=f"Notebook {number}", tags=["t"])
    with CaptureQueriesContext(connection) as five:
        assert len(client.get("/api/v1/notebooks", **header).json()["results"]) == 5

    for number in range(5, 50):
        notebook_create(space=acme, owner=ada, name=f"Notebook {number}", tags=["t"])
    with django_assert_num_queries(len(five)):
        assert len(client.get("/api/v1/notebooks", **header).json()["results"]) == 50
    assert len(five) <= 7


def test_a_description_is_at_most_10000_characters(api_client, ada):
    client = api_client(ada)

    too_long = client.post("/api/v1/notebooks", {"name": "Long", "description": "x" * 10_001}, format="json")
    longest = client.post("/api/v1/notebooks", {"name": "Long", "description": "x" * 10_000}, format="json")

    assert too_long.status_code == 400
    assert too_long.json() == {"description": ["Ensure this field has no more than 10000 characters."]}
    assert longest.status_code == 201
