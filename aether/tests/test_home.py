import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.selectors import personal_space_of
from notebooks.models import Notebook
from notebooks.services import agent_create, document_create, notebook_create
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db


def test_a_visitor_sees_what_aether_is_and_a_sign_in_link(client):
    response = client.get("/")

    assert response.status_code == 200
    assert b'href="/oidc/authenticate/"' in response.content
    assert b"Sign in" in response.content


def test_a_signed_in_user_sees_their_notebooks_documents_and_agents(client, user):
    onboard_user(user=user, trigger="login")
    client.force_login(user)

    page = client.get("/").content.decode()

    for text in ("Getting Started", "Welcome to Aether.txt", "Quick Start Guide.txt", "Sample FAQ.txt"):
        assert text in page
    assert "Personal Assistant" in page
    assert "Ada Lovelace&#x27;s Personal Space" in page


def test_pages_carry_a_strict_content_security_policy(client):
    policy = client.get("/").headers["Content-Security-Policy"]

    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_sign_in_from_a_page_that_needed_it_returns_there(client):
    response = client.get("/notebooks/4f1c1b8e-0000-4000-8000-000000000000/", follow=True)

    assert (
        b'href="/oidc/authenticate/?next=/notebooks/4f1c1b8e-0000-4000-8000-000000000000/"'
        in response.content
    )


def test_a_user_without_any_space_sees_the_onboarding_panel_only(client, user):
    client.force_login(user)

    page = client.get("/").content.decode()

    assert "<h1>Welcome, Ada Lovelace</h1>" in page
    assert "Your notebooks and agents appear here once your workspace is set up." in page
    assert "New notebook" not in page


def test_the_dashboard_costs_the_same_queries_for_one_notebook_or_many(client, user):
    """Notebooks, their documents and agents with their knowledge are read in a fixed number of queries."""
    onboard_user(user=user, trigger="login")
    client.force_login(user)
    with CaptureQueriesContext(connection) as one_notebook:
        client.get("/")
    space = personal_space_of(user)
    for number in range(10):
        notebook = notebook_create(space=space, owner=user, name=f"Notebook {number}", tags=["t"])
        document_create(notebook=notebook, name=f"doc {number}.txt", data="text")
        agent_create(space=space, owner=user, name=f"Agent {number}", notebook_ids=[notebook.pk])

    with CaptureQueriesContext(connection) as eleven_notebooks:
        page = client.get("/").content.decode()

    assert "Notebook 9" in page
    assert "Agent 9" in page
    assert len(eleven_notebooks) == len(one_notebook) <= 12


def test_the_dashboard_lists_five_documents_a_notebook_and_pages_the_notebooks(client, user):
    onboard_user(user=user, trigger="login")
    client.force_login(user)
    space = personal_space_of(user)
    busy = notebook_create(space=space, owner=user, name="Busy")
    for number in range(8):
        document_create(notebook=busy, name=f"doc {number}.txt", data="text")
    for number in range(50):
        notebook_create(space=space, owner=user, name=f"Filler {number:02}")
    Notebook.objects.filter(pk=busy.pk).update(updated_at=timezone.now())  # first on the first page

    first = client.get("/").content.decode()
    second = client.get("/?page=2").content.decode()

    assert [f"doc {number}.txt" in first for number in range(8)] == [True] * 5 + [False] * 3
    assert "and 3 more</a>" in first
    assert "<span>Page 1</span>" in first and '<a href="?page=2" rel="next">Next</a>' in first
    names = re.findall(r'<h3><a href="/notebooks/[^"]+/">([^<]+)</a></h3>', first + second)
    assert len(names) == 52 and len(set(names)) == 52  # 50 fillers, Busy and Getting Started
    assert '<a href="?page=1" rel="prev">Previous</a>' in second and 'rel="next"' not in second


@pytest.mark.parametrize("page", ["0", "-1", "x", "99999999999999999999999"])
def test_a_dashboard_page_number_out_of_range_shows_the_first_page(client, user, page):
    onboard_user(user=user, trigger="login")
    client.force_login(user)

    response = client.get("/", {"page": page})

    assert response.status_code == 200
    assert "Getting Started" in response.content.decode()
