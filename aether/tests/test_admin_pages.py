"""Every admin page of Aether's models renders for staff, in a number of queries that does not grow."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.services import membership_add, space_create_organization
from notebooks.models import Document
from onboarding.blueprints import blueprint_as_input, blueprint_create_version
from onboarding.selectors import blueprint_current
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db

APPS = {"accounts", "notebooks", "onboarding"}
# Enough for the heaviest page (the user change form with its runs and steps) at any data volume.
MAX_QUERIES = 14


def populate(make_user, users: int) -> None:
    """Onboarded users, a failed run, an organization with members, a second blueprint version."""
    people = [make_user() for _ in range(users)]
    for person in people:
        onboard_user(user=person, trigger="login")
        onboard_user(user=person, trigger="admin", actor=people[0], force=True)
    Document.objects.filter(notebook__owner=people[0]).first().delete()
    organization = space_create_organization(owner=people[0], name=f"Org of {users}")
    for person in people[1:]:
        membership_add(space=organization, user=person)
    fields, documents = blueprint_as_input(blueprint_current())
    blueprint_create_version(fields=fields, documents=documents, actor=people[0], change_note="walk")


def pages(model_admin) -> list[str]:
    """The changelist, the add form, and the change forms of the first and the last row."""
    meta = model_admin.model._meta
    prefix = f"admin:{meta.app_label}_{meta.model_name}"
    rows = model_admin.model._default_manager.order_by("pk")
    return [
        reverse(f"{prefix}_changelist"),
        reverse(f"{prefix}_add"),
        reverse(f"{prefix}_change", args=[rows.first().pk]),
        # For the blueprint: the first version is view-only, the last one an editable form.
        reverse(f"{prefix}_change", args=[rows.last().pk]),
    ]


@pytest.fixture
def staff_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user(email="root@example.com", is_staff=True, is_superuser=True))
    return client


def registered() -> list:
    return [ma for model, ma in admin.site._registry.items() if model._meta.app_label in APPS]


def test_every_admin_page_renders_for_staff_in_bounded_queries(
    staff_client, make_user, django_assert_max_num_queries
):
    populate(make_user, users=12)
    walked = 0
    for model_admin in registered():
        for url in pages(model_admin):
            with django_assert_max_num_queries(MAX_QUERIES):
                response = staff_client.get(url)
            # An add form may be refused by design (runs are history; a blueprint has one current version).
            assert response.status_code in ((200, 403) if url.endswith("/add/") else (200,)), url
            walked += 1
    assert walked == 4 * len(registered())
    assert {ma.model._meta.label for ma in registered()} == {
        "accounts.User",
        "accounts.Space",
        "accounts.Membership",
        "notebooks.Notebook",
        "notebooks.Document",
        "notebooks.Agent",
        "onboarding.Blueprint",
        "onboarding.OnboardingRun",
    }


def query_counts(client: Client) -> dict[str, int]:
    counts = {}
    for model_admin in registered():
        url = pages(model_admin)[0]
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts[url] = len(queries)
    return counts


def test_changelists_run_the_same_number_of_queries_for_few_and_many_rows(staff_client, make_user):
    populate(make_user, users=2)
    few = query_counts(staff_client)
    populate(make_user, users=15)
    many = query_counts(staff_client)

    assert many == few
