"""Error pages in the site's style, each with a way home, with debug on and off where Django allows.

Under ``DJANGO_DEBUG`` Django answers an unknown URL and an unexpected error with its technical pages
(and no template can change that); 403, 413 and the 503 page are the site's in both modes.
"""

import pytest
from django.http import HttpRequest
from django.shortcuts import render
from django.template.loader import render_to_string
from django.test import Client
from django.utils.functional import SimpleLazyObject

from accounts.models import Membership
from accounts.services import membership_add, space_create_organization

STYLESHEET = '<link rel="stylesheet" href="/static/aether.css">'
HOME_LINK = '<a class="button" href="/">Go to the home page</a>'


def assert_site_page(response, status: int, heading: str) -> str:
    assert response.status_code == status
    page = response.content.decode()
    assert STYLESHEET in page
    assert f'<h1 id="error-heading">{heading}</h1>' in page
    assert "<title>" in page and "· Aether</title>" in page
    assert 'href="/"' in page
    return page


@pytest.mark.django_db
def test_an_unknown_page_answers_the_sites_404_page(client, ada):
    client.force_login(ada)

    page = assert_site_page(client.get("/no-such-page/"), 404, "This page does not exist")

    assert HOME_LINK in page
    assert "or it belongs to a space you are not a member of" in page


@pytest.mark.django_db
def test_the_404_page_under_debug_is_djangos_technical_page(client, settings):
    settings.DEBUG = True

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Django tried these URL patterns" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_a_refused_change_answers_the_sites_403_page_with_the_reason(client, ada, make_user, settings, debug):
    settings.DEBUG = debug
    acme = space_create_organization(owner=ada, name="Acme")
    viewer = make_user()
    membership_add(space=acme, user=viewer, role=Membership.Role.VIEWER)
    client.force_login(viewer)

    response = client.post(f"/spaces/{acme.pk}/notebooks/new/", {"name": "Plans", "visibility": "private"})

    page = assert_site_page(response, 403, "You cannot do this here")
    assert "Viewers can read this space but not change it. Nothing was changed." in page
    assert HOME_LINK in page


@pytest.mark.django_db
def test_a_form_without_its_csrf_token_answers_the_sites_page(ada):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ada)

    response = client.post("/spaces/new/", {"name": "Acme"})

    page = assert_site_page(response, 403, "This form could not be accepted")
    assert "Go back, reload the page and send the form again." in page


@pytest.mark.django_db
@pytest.mark.urls("aether.tests.urls_failing")
def test_an_unexpected_error_answers_the_sites_500_page(ada):
    client = Client(raise_request_exception=False)
    client.force_login(ada)

    page = assert_site_page(client.get("/failing/"), 500, "Something went wrong on our side")

    assert HOME_LINK in page
    assert "RuntimeError" not in page and "a bug" not in page


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_a_form_body_over_the_limit_answers_the_sites_413_page(client, ada, settings, debug):
    """Django would show its technical page under debug: the body is read before the CSRF middleware."""
    settings.DEBUG = debug
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client.force_login(ada)

    response = client.post(
        "/spaces/new/",
        {"name": "Acme", "description": "x" * 2000},
        HTTP_REFERER="http://testserver/spaces/new/",
    )

    page = assert_site_page(response, 413, "What you sent is too large")
    assert "This request is " in page
    assert "This server accepts at most 1,000 bytes from one form. Nothing was saved." in page
    assert '<a class="button" href="http://testserver/spaces/new/">Go back</a>' in page


@pytest.mark.django_db
def test_the_413_page_never_links_back_to_another_site(client, ada, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client.force_login(ada)

    response = client.post("/spaces/new/", {"description": "x" * 2000}, HTTP_REFERER="https://evil.example/")

    assert '<a class="button" href="/">Go back</a>' in response.content.decode()


def _exploding() -> None:
    raise AssertionError("the 503 page looked up the user")


def test_the_503_page_renders_without_a_request_the_database_or_the_user():
    """No ``django_db`` mark: any query would fail this test, as it would with the database down."""
    alone = render_to_string("503.html")
    request = HttpRequest()
    request.user = SimpleLazyObject(_exploding)
    with_request = render(request, "503.html", status=503)

    for page in (alone, with_request.content.decode()):
        assert '<h1 id="error-heading">Aether is unavailable for a moment</h1>' in page
        assert "cannot reach its database" in page
        assert STYLESHEET in page
        assert '<a class="button" href="/">Try the home page again</a>' in page
        assert "Sign out" not in page


def test_every_error_page_renders_without_the_database():
    for status in (400, 403, 404, 500, 503):
        page = render_to_string(f"{status}.html")
        assert f"Error {status}" in page
        assert "site-header" in page
    assert "Error 403" in render_to_string("403_csrf.html")
    assert "Error 413" in render_to_string("413.html", {"limit": 1024, "back_url": "/"})
