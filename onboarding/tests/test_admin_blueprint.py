"""Staff edit the blueprint in the admin; every save publishes a new version."""

import re

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.test import Client
from django.urls import reverse

from notebooks.models import Document
from onboarding.models import Blueprint, OnboardingRun, UserOnboarding
from onboarding.selectors import blueprint_current
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(make_user):
    return make_user(email="admin@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def change_url(blueprint: Blueprint) -> str:
    return reverse("admin:onboarding_blueprint_change", args=[blueprint.pk])


def form_data(blueprint: Blueprint, **overrides: object) -> dict[str, object]:
    """The change form of ``blueprint`` as a browser would submit it unchanged."""
    data: dict[str, object] = {
        "based_on_version": blueprint.version,
        "change_note": "",
        "space_name_template": blueprint.space_name_template,
        "notebook_name": blueprint.notebook_name,
        "notebook_description": blueprint.notebook_description,
        "notebook_tags": ", ".join(blueprint.notebook_tags),
        "notebook_visibility": blueprint.notebook_visibility,
        "agent_name": blueprint.agent_name,
        "agent_description": blueprint.agent_description,
        "agent_type": blueprint.agent_type,
        "agent_model": blueprint.agent_model,
        "agent_temperature": blueprint.agent_temperature,
        "agent_max_tokens": blueprint.agent_max_tokens,
        "agent_system_prompt": blueprint.agent_system_prompt,
        "agent_tags": ", ".join(blueprint.agent_tags),
    }
    documents = list(blueprint.documents.order_by("order", "name"))
    prefix = "documents"
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": len(documents),
            f"{prefix}-INITIAL_FORMS": len(documents),
            f"{prefix}-MIN_NUM_FORMS": 0,
            f"{prefix}-MAX_NUM_FORMS": 1000,
        }
    )
    for index, document in enumerate(documents):
        data.update(
            {
                f"{prefix}-{index}-id": document.pk,
                f"{prefix}-{index}-blueprint": blueprint.pk,
                f"{prefix}-{index}-name": document.name,
                f"{prefix}-{index}-content": document.content,
                f"{prefix}-{index}-order": document.order,
            }
        )
    data.update(overrides)
    return data


def add_document(data: dict[str, object], name: str, content: str, order: int) -> dict[str, object]:
    index = data["documents-TOTAL_FORMS"]
    data["documents-TOTAL_FORMS"] = index + 1
    data.update(
        {
            f"documents-{index}-name": name,
            f"documents-{index}-content": content,
            f"documents-{index}-order": order,
        }
    )
    return data


def test_the_change_form_previews_what_a_new_user_receives(client):
    page = client.get(change_url(blueprint_current())).content.decode()

    assert "Ada Lovelace&#x27;s Personal Space" in page
    assert "3 sample documents" in page
    assert re.search(r"Welcome to Aether\.txt <span[^>]*>\(39 lines", page)
    assert "Personal Assistant: Question answering, gpt-4, temperature 0.7, up to 2000 tokens" in page


def test_adding_a_fourth_document_publishes_a_new_version(client, admin_user, make_user):
    existing = make_user(email="existing@example.com")
    onboard_user(user=existing, trigger="login")
    first = blueprint_current()
    data = add_document(
        form_data(first, change_note="Add shortcuts"), "Keyboard Shortcuts.txt", "Press ? for help.\n", 4
    )

    response = client.post(change_url(first), data, follow=True)

    assert response.status_code == 200
    assert "Published version 2: new users receive it from now on." in response.content.decode()
    second = blueprint_current()
    assert second.version == 2
    assert (second.change_note, second.created_by) == ("Add shortcuts", admin_user)
    assert [d.key for d in second.documents.order_by("order")] == [
        "welcome",
        "quick-start",
        "faq",
        "keyboard-shortcutstxt",
    ]
    # Version 1 is untouched and still readable.
    assert Blueprint.objects.get(version=1).documents.count() == 3
    assert LogEntry.objects.get(object_id=str(second.pk)).action_flag == ADDITION

    newcomer = make_user(email="newcomer@example.com")
    run = onboard_user(user=newcomer, trigger="login")
    assert Document.objects.filter(notebook__owner=newcomer).count() == 4
    assert run.blueprint_version == 2
    assert UserOnboarding.objects.get(user=newcomer).blueprint_version == 2

    # Users onboarded before keep what they had until their onboarding is re-run.
    assert Document.objects.filter(notebook__owner=existing).count() == 3
    assert UserOnboarding.objects.get(user=existing).blueprint_version == 1
    onboard_user(user=existing, trigger="admin", force=True)
    assert Document.objects.filter(notebook__owner=existing).count() == 4


def test_renaming_a_document_keeps_its_key(client):
    first = blueprint_current()
    data = form_data(first, **{"documents-2-name": "Questions and Answers.txt"})

    client.post(change_url(first), data)

    faq = blueprint_current().documents.get(order=3)
    assert (faq.key, faq.name) == ("faq", "Questions and Answers.txt")


def test_removing_a_document_leaves_it_out_of_the_next_version_only(client):
    first = blueprint_current()
    data = form_data(first, **{"documents-2-DELETE": "on"})

    client.post(change_url(first), data)

    assert [d.key for d in blueprint_current().documents.all()] == ["welcome", "quick-start"]
    assert first.documents.count() == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda data: data.update({"documents-1-name": "Welcome to Aether.txt"}), "is used twice"),
        (lambda data: data.update({"agent_temperature": "3"}), "less than or equal to 2.0"),
        (lambda data: data.update({"space_name_template": "Personal"}), "must contain {name}"),
        (lambda data: data.update({"notebook_tags": "a, a"}), "Tags must not repeat."),
        (lambda data: add_document(data, "Welcome to Aether.txt", "again", 4), "is used twice"),
    ],
)
def test_invalid_edits_are_shown_in_the_form_and_nothing_is_published(client, change, message):
    first = blueprint_current()
    data = form_data(first)
    change(data)

    response = client.post(change_url(first), data)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Please correct the error" in page
    assert message in page.replace("&#x27;", "'").replace("&quot;", '"')
    assert Blueprint.objects.count() == 1


def test_older_versions_are_read_only_and_nothing_is_deleted(client):
    first = blueprint_current()
    client.post(change_url(first), form_data(first, change_note="v2"))
    second = blueprint_current()

    old_page = client.get(change_url(first))
    post_to_old = client.post(change_url(first), form_data(first, notebook_name="Changed"))
    without_version = form_data(first, notebook_name="Changed")
    del without_version["based_on_version"]
    forged_post_to_old = client.post(change_url(first), without_version)
    delete_old = client.post(reverse("admin:onboarding_blueprint_delete", args=[first.pk]), {"post": "yes"})

    assert old_page.status_code == 200
    assert "<h1>View blueprint</h1>" in old_page.content.decode()
    assert 'name="notebook_name"' not in old_page.content.decode()
    assert 'name="notebook_name"' in client.get(change_url(second)).content.decode()
    # Saved from a page opened before version 2: refused as stale on the form, what was typed kept.
    assert post_to_old.status_code == 200
    assert "Version 2 was published while you edited; reload" in post_to_old.content.decode()
    assert 'value="Changed"' in post_to_old.content.decode()
    assert forged_post_to_old.status_code == 403
    assert delete_old.status_code == 403
    assert Blueprint.objects.get(pk=first.pk).notebook_name == "Getting Started"
    assert Blueprint.objects.count() == 2
    assert client.get(reverse("admin:onboarding_blueprint_add")).status_code == 403


def test_runs_record_the_version_they_used(client, make_user):
    first = blueprint_current()
    client.post(change_url(first), form_data(first, agent_name="Guide"))

    run = onboard_user(user=make_user(), trigger="login")

    assert OnboardingRun.objects.get(pk=run.pk).blueprint_version == 2


def test_without_any_blueprint_staff_can_add_the_first_version(client):
    first = blueprint_current()
    data = form_data(first, change_note="From scratch")
    data.update({"documents-TOTAL_FORMS": 1, "documents-INITIAL_FORMS": 0})
    data.update({"documents-0-name": "Hello.txt", "documents-0-content": "Hello!\n", "documents-0-order": 1})
    del data["documents-0-id"], data["documents-0-blueprint"]
    data["based_on_version"] = 0
    Blueprint.objects.all().delete()

    assert client.get(reverse("admin:onboarding_blueprint_add")).status_code == 200
    response = client.post(reverse("admin:onboarding_blueprint_add"), data)

    assert response.status_code == 302
    created = blueprint_current()
    assert (created.version, created.change_note) == (1, "From scratch")
    assert [(d.key, d.name) for d in created.documents.all()] == [("hellotxt", "Hello.txt")]
