"""Every admin page of Aether's models renders for staff, in a number of queries that does not grow."""

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.services import membership_add, space_create_organization
from notebooks.models import Agent, Document, Notebook
from onboarding.blueprints import blueprint_as_input, blueprint_create_version
from onboarding.models import ROLLOUT_UNFINISHED, Rollout
from onboarding.rollouts import rollout_cancel, rollout_start
from onboarding.selectors import blueprint_current
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db

APPS = {"accounts", "notebooks", "onboarding"}
# Enough for the heaviest page (the user change form with its runs and steps) at any data volume.
MAX_QUERIES = 14


def populate(make_user, users: int) -> dict[str, object]:
    """Onboarded users, an organization with members, a second blueprint version.

    Answers the objects whose change forms have the most inline rows.
    """
    people = [make_user() for _ in range(users)]
    for person in people:
        onboard_user(user=person, trigger="login")
        onboard_user(user=person, trigger="admin", actor=people[0], force=True)
    Document.objects.filter(notebook__owner=people[0]).first().delete()
    organization = space_create_organization(owner=people[0], name=f"Org of {users}")
    for person in people[1:]:
        membership_add(space=organization, user=person)
    fields, documents = blueprint_as_input(blueprint_current())
    after = max(document["order"] for document in documents)
    documents += [
        {"name": f"Extra {users}-{n}.txt", "content": "More.\n", "order": after + 1 + n} for n in range(users)
    ]
    blueprint = blueprint_create_version(
        fields=fields, documents=documents, actor=people[0], change_note="walk"
    )
    for _ in range(users):
        onboard_user(user=people[1], trigger="retry", force=True)
    # A roll-out of the new version to the others (the one before, if any, cancelled to make way).
    for unfinished in Rollout.objects.filter(status__in=ROLLOUT_UNFINISHED):
        rollout_cancel(rollout=unfinished)
    rollout_start(actor=people[0])
    notebook = Notebook.objects.get(owner=people[1])
    for number in range(users):
        Document.objects.create(notebook=notebook, name=f"Note {number}.txt", content="A note.")
    return {
        "space": organization,
        "user": people[1],
        "notebook": notebook,
        "blueprint": blueprint,
        "agent": Agent.objects.get(owner=people[1]),
    }


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


def assert_works_under_the_csp(page: str, url: str) -> None:
    """No inline script, style attribute or event handler: the strict CSP would block them."""
    inline_scripts = [tag for tag in re.findall(r"<script\b[^>]*>", page) if "src=" not in tag]
    assert all("application/json" in tag for tag in inline_scripts), (url, inline_scripts)
    assert not re.search(r"\sstyle=\"", page), url
    assert not re.search(r"\son[a-z]+=\"", page), url


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
            assert_works_under_the_csp(response.content.decode(), url)
            walked += 1
    assert walked == 4 * len(registered())
    # The admin's own pages beyond the models' (the users' re-run button only answers a POST).
    for url in [reverse("admin:index"), reverse("admin:onboarding_blueprint_publish")]:
        with django_assert_max_num_queries(MAX_QUERIES):
            response = staff_client.get(url)
        assert response.status_code == 200, url
        assert_works_under_the_csp(response.content.decode(), url)
    assert {ma.model._meta.label for ma in registered()} == {
        "accounts.User",
        "accounts.Space",
        "accounts.Membership",
        "notebooks.Notebook",
        "notebooks.Document",
        "notebooks.Agent",
        "onboarding.Blueprint",
        "onboarding.OnboardingRun",
        "onboarding.Rollout",
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


def change_form_query_counts(client: Client, objects: dict[str, object]) -> dict[str, int]:
    counts = {}
    for name, obj in objects.items():
        meta = obj._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts[name] = len(queries)
    return counts


def test_change_forms_run_the_same_number_of_queries_for_few_and_many_inline_rows(staff_client, make_user):
    small = populate(make_user, users=2)
    # A first visit fills per-process caches (content types, the session): measure warm pages only.
    change_form_query_counts(staff_client, small)
    few = change_form_query_counts(staff_client, small)
    many = change_form_query_counts(staff_client, populate(make_user, users=15))

    assert many == few


def test_staff_add_a_member_from_the_space_page(staff_client, make_user):
    objects = populate(make_user, users=2)
    space = objects["space"]
    newcomer = make_user(email="newcomer@example.com")
    members = list(space.memberships.order_by("pk"))
    data = {"name": space.name, "type": space.type, "owner": space.owner_id, "description": ""}
    data.update(
        {
            "memberships-TOTAL_FORMS": len(members),
            "memberships-INITIAL_FORMS": len(members),
            "memberships-MIN_NUM_FORMS": 0,
            "memberships-MAX_NUM_FORMS": 1000,
            "memberships-2-TOTAL_FORMS": 1,
            "memberships-2-INITIAL_FORMS": 0,
            "memberships-2-MIN_NUM_FORMS": 0,
            "memberships-2-MAX_NUM_FORMS": 1000,
            "memberships-2-0-user": str(newcomer.pk),
            "memberships-2-0-role": "viewer",
        }
    )
    for index, membership in enumerate(members):
        data.update(
            {
                f"memberships-{index}-id": str(membership.pk),
                f"memberships-{index}-space": str(space.pk),
                f"memberships-{index}-role": "admin" if membership.role == "member" else membership.role,
            }
        )

    response = staff_client.post(reverse("admin:accounts_space_change", args=[space.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    roles = dict(space.memberships.values_list("user__email", "role"))
    assert roles["newcomer@example.com"] == "viewer"
    assert sorted(roles.values()) == ["admin", "owner", "viewer"]
