"""The search page: the current space's notebooks by name, description or tag, never another space's."""

import pytest

from accounts.models import Membership
from accounts.selectors import personal_space_of
from accounts.services import membership_add, space_create_organization
from notebooks.services import notebook_create

pytestmark = pytest.mark.django_db


def found(page: str) -> list[str]:
    import re

    return re.findall(r'<h3><a href="/notebooks/[^"]+/">([^<]+)</a></h3>', page)


def search(client, space, query: str, **params: object):
    return client.get(f"/spaces/{space.pk}/search/", {"query": query, **params})


def test_search_finds_notebooks_of_the_space_by_name_description_or_tag(signed_in, ada, make_user):
    space = personal_space_of(ada)
    notebook_create(space=space, owner=ada, name="Quantum notes")
    notebook_create(space=space, owner=ada, name="Reading", description="Papers on QUANTUM error correction")
    notebook_create(space=space, owner=ada, name="Lab", tags=["Quantum-lab"])
    notebook_create(space=space, owner=ada, name="Cooking")
    elsewhere = space_create_organization(owner=make_user(), name="Elsewhere")
    notebook_create(space=elsewhere, owner=elsewhere.owner, name="Quantum secrets")

    page = search(signed_in, space, "quantum").content.decode()

    assert sorted(found(page)) == ["Lab", "Quantum notes", "Reading"]
    assert "Quantum secrets" not in page
    assert "Notebooks matching “quantum”" in page


def test_search_in_an_organization_space_never_shows_the_personal_space(client, ada, make_user):
    grace = make_user()
    acme = space_create_organization(owner=grace, name="Acme")
    notebook_create(space=acme, owner=grace, name="Started projects")
    membership_add(space=acme, user=ada, role=Membership.Role.VIEWER)
    client.force_login(ada)

    page = search(client, acme, "started").content.decode()

    assert found(page) == ["Started projects"]  # not Ada's own "Getting Started"


def test_a_search_without_matches_says_so(signed_in, ada):
    page = search(signed_in, personal_space_of(ada), "zebra").content.decode()

    assert "No notebook in Ada Lovelace&#x27;s Personal Space matches “zebra”" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Type something to search for."),
        ("x" * 101, "Search for at most 100 characters (this is 101)."),
        ("a\x1fb", "The query must not contain control characters."),
    ],
)
def test_a_bad_query_is_refused_next_to_the_box_and_kept(signed_in, ada, query, message):
    response = search(signed_in, personal_space_of(ada), query)

    assert response.status_code == 400
    page = response.content.decode()
    assert f'<ul class="errorlist" id="id_query_error"><li>{message}</li></ul>' in page
    assert found(page) == []


def test_the_search_page_opened_without_a_query_shows_the_box_only(signed_in, ada):
    response = signed_in.get(f"/spaces/{personal_space_of(ada).pk}/search/")

    assert response.status_code == 200
    assert 'name="query"' in response.content.decode()
    assert "errorlist" not in response.content.decode()


def test_search_results_come_in_pages_of_50(signed_in, ada):
    space = personal_space_of(ada)
    for number in range(51):
        notebook_create(space=space, owner=ada, name=f"Match {number:02}")

    first = search(signed_in, space, "match").content.decode()
    second = search(signed_in, space, "match", page=2).content.decode()

    assert len(found(first)) == 50 and len(found(second)) == 1
    assert '<a href="?query=match&amp;page=2" rel="next">Next</a>' in first
    assert set(found(first)).isdisjoint(found(second))


def test_the_search_of_a_space_the_user_is_not_in_is_not_found(client, ada, make_user):
    client.force_login(make_user())

    assert search(client, personal_space_of(ada), "getting").status_code == 404


def test_the_dashboard_offers_the_search_box_of_its_space(signed_in, ada):
    page = signed_in.get("/").content.decode()

    assert f'action="/spaces/{personal_space_of(ada).pk}/search/"' in page
    assert 'type="search" name="query"' in page
