import pytest

from accounts.services import space_create_organization
from notebooks.models import Notebook
from notebooks.selectors import notebook_in_space
from notebooks.services import notebook_create, notebook_update
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db


def _names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(notebook["name"] for notebook in response.json()["results"])


def test_search_finds_the_getting_started_notebook(api_client, ada):
    response = api_client(ada).get("/api/v1/notebooks/search?query=Getting%20Started")
    assert _names(response) == ["Getting Started"]
    assert response.json()["results"][0]["document_count"] == 3


def test_search_ignores_case_and_matches_name_description_and_tags(api_client, ada):
    space = ada.owned_spaces.get(type="personal")
    notebook_create(space=space, owner=ada, name="Quarterly PLANS")
    notebook_create(space=space, owner=ada, name="Ideas", description="Half-baked plans and dreams")
    notebook_create(space=space, owner=ada, name="Recipes", tags=["Kitchen", "plansza"])
    notebook_create(space=space, owner=ada, name="Unrelated")
    client = api_client(ada)

    assert _names(client.get("/api/v1/notebooks/search", {"query": "plans"})) == [
        "Ideas",
        "Quarterly PLANS",
        "Recipes",
    ]
    assert _names(client.get("/api/v1/notebooks/search", {"query": "KITCHEN"})) == ["Recipes"]
    assert _names(client.get("/api/v1/notebooks/search", {"query": "welcome"})) == ["Getting Started"]
    assert _names(client.get("/api/v1/notebooks/search", {"query": "100%"})) == []
    assert _names(client.get("/api/v1/notebooks/search", {"query": "_"})) == []


def test_search_stays_in_the_current_space(api_client, ada, make_user):
    acme = space_create_organization(owner=ada, name="Acme")
    notebook_create(space=acme, owner=ada, name="Getting Started with Acme")
    other = make_user()
    onboard_user(user=other, trigger="login")
    client = api_client(ada)

    assert _names(client.get("/api/v1/notebooks/search", {"query": "getting started"})) == ["Getting Started"]
    in_acme = client.get("/api/v1/notebooks/search", {"query": "getting"}, HTTP_X_SPACE_ID=str(acme.pk))
    assert _names(in_acme) == ["Getting Started with Acme"]


def test_search_pages_its_results(api_client, ada):
    space = ada.owned_spaces.get(type="personal")
    for number in range(55):
        notebook_create(space=space, owner=ada, name=f"Log {number}")
    client = api_client(ada)

    first = client.get("/api/v1/notebooks/search", {"query": "log"}).json()
    assert (first["count"], len(first["results"])) == (55, 50)
    second = client.get(first["next"]).json()
    assert (len(second["results"]), second["next"]) == (5, None)


def test_search_matches_punctuation_as_typed_and_never_across_fields(api_client, ada):
    space = ada.owned_spaces.get(type="personal")
    notebook_create(space=space, owner=ada, name="Irish names", tags=['O"Brien', "it's"])
    notebook_create(space=space, owner=ada, name="Lists", description="apples, pears")
    client = api_client(ada)

    def search(query: str) -> list[str]:
        return _names(client.get("/api/v1/notebooks/search", {"query": query}))

    assert search('o"brien') == ["Irish names"]
    assert search("it's") == ["Irish names"]
    # Only real text matches: not the JSON spelling of the tags, nor a join of two fields.
    assert search('", "') == []
    assert search("s, p") == ["Lists"]
    assert search('"') == ["Irish names"]
    assert search("names o") == []
    assert search("welcome, getting") == []


def test_the_search_text_follows_every_change(ada):
    space = ada.owned_spaces.get(type="personal")
    notebook = notebook_create(space=space, owner=ada, name="Draft", tags=["Alpha"])
    assert Notebook.objects.filter(search_text__contains="alpha").get() == notebook

    # As the API loads it: without its search text.
    notebook_update(notebook=notebook_in_space(space, notebook.pk), name="Final", tags=["Beta"])
    created = Notebook.objects.create(space=space, owner=ada, name="Made Directly", description="Here")

    assert set(Notebook.objects.filter(search_text__contains="beta")) == {notebook}
    assert not Notebook.objects.filter(search_text__contains="alpha").exists()
    assert Notebook.objects.get(search_text__contains="made directly\x1fhere") == created


@pytest.mark.parametrize("query", ["a\x1fb", "line\nbreak", "tab\there"])
def test_a_query_with_control_characters_is_refused(api_client, ada, query):
    response = api_client(ada).get("/api/v1/notebooks/search", {"query": query})
    assert response.status_code == 400
    assert response.json() == {"query": ["The query must not contain control characters."]}


@pytest.mark.parametrize("params", [{}, {"query": ""}, {"query": "x" * 101}])
def test_query_must_have_1_to_100_characters(api_client, ada, params):
    response = api_client(ada).get("/api/v1/notebooks/search", params)
    assert response.status_code == 400
    assert "query" in response.json()


@pytest.mark.postgres
def test_the_search_condition_can_use_the_trigram_index_on_postgresql(ada):
    """The lookup the search uses is one the trigram index serves (bench/notebook_search.py times it)."""
    from django.db import connection

    with connection.cursor() as cursor:
        # On a handful of rows the planner would rightly scan the table; ask whether it could use the index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = Notebook.objects.filter(search_text__contains="getting started").explain()
    assert "notebook_search_trgm" in plan


def test_a_new_users_first_call_with_a_fresh_token_finds_getting_started(client, dev_provider):
    """The exact call that failed in the system this replaces: search before anything else."""
    dev_provider.set_user("first-call", email="first@example.com", name="First Caller")
    token = dev_provider.access_token("first-call")

    response = client.get(
        "/api/v1/notebooks/search?query=Getting%20Started", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert _names(response) == ["Getting Started"]
    assert response.json()["results"][0]["document_count"] == 3


def test_a_new_users_first_call_with_a_keycloak_jwt_finds_getting_started(client, keycloak_issuer):
    token = keycloak_issuer.access_token("first-jwt-call")

    response = client.get(
        "/api/v1/notebooks/search?query=Getting%20Started", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert _names(response) == ["Getting Started"]
