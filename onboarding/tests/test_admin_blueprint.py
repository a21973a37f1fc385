"""Staff publish blueprint versions from the admin's "Publish a new version" page."""

import html
import re

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from aether.tests.admin_forms import form_data
from notebooks.models import Document
from onboarding.models import Blueprint, OnboardingRun, UserOnboarding
from onboarding.selectors import blueprint_current
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db

PUBLISH = reverse("admin:onboarding_blueprint_publish")
VERSIONS = reverse("admin:onboarding_blueprint_changelist")


@pytest.fixture
def manager(onboarding_manager):
    return onboarding_manager


@pytest.fixture
def client(manager_client) -> Client:
    return manager_client


def change_url(blueprint: Blueprint) -> str:
    return reverse("admin:onboarding_blueprint_change", args=[blueprint.pk])


def publish_form(client: Client, query: str = "", **changes: object) -> dict[str, object]:
    """The publish page's form as the browser shows it, with ``changes`` typed in and a change note."""
    data = form_data(client.get(PUBLISH + query).content.decode())
    data.pop("_another_document", None)
    data.update({"change_note": "A change", **changes})
    return data


def rows(data: dict[str, object]) -> dict[str, str]:
    """The document rows' prefixes by the document's name: {"Sample FAQ.txt": "documents-2"}."""
    return {
        str(value): key.removesuffix("-name")
        for key, value in data.items()
        if re.fullmatch(r"documents-\d+-name", key) and value
    }


def add_document(data: dict[str, object], name: str, content: str, order: object) -> dict[str, object]:
    """Fill in the blank row the page offers for a new document."""
    blank = next(
        key.removesuffix("-name")
        for key, value in data.items()
        if re.fullmatch(r"documents-\d+-name", key) and not value
    )
    data.update({f"{blank}-name": name, f"{blank}-content": content, f"{blank}-order": order})
    return data


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_page_starts_from_the_current_version_and_previews_it(client):
    response = client.get(PUBLISH)
    page = page_text(response)
    data = form_data(response.content.decode())

    assert response.status_code == 200
    assert "What a new user receives now (version 1)" in page
    assert "Ada Lovelace's Personal Space" in page
    assert 'value="Publish version 2"' in page
    assert data["notebook_name"] == "Getting Started"
    assert data["notebook_tags"] == "welcome, getting-started, onboarding"
    assert data["based_on_version"] == "1"
    assert [data[f"{row}-key"] for row in rows(data).values()] == ["welcome", "quick-start", "faq"]
    assert data["change_note"] == ""


def test_adding_a_fourth_document_publishes_a_new_version(client, manager, make_user):
    existing = make_user(email="existing@example.com")
    onboard_user(user=existing, trigger="login")
    data = add_document(
        publish_form(client, change_note="Add shortcuts"), "Keyboard Shortcuts.txt", "Press ? for help.\n", 4
    )

    response = client.post(PUBLISH, data, follow=True)

    assert response.redirect_chain == [(VERSIONS, 302)]
    assert (
        "Published version 2 (added document “Keyboard Shortcuts.txt”). New users receive it from now on"
        in page_text(response)
    )
    second = blueprint_current()
    assert (second.version, second.change_note, second.created_by) == (2, "Add shortcuts", manager)
    assert [d.key for d in second.documents.order_by("order")] == [
        "welcome",
        "quick-start",
        "faq",
        "keyboard-shortcuts",
    ]
    # Version 1 is untouched and still readable.
    assert Blueprint.objects.get(version=1).documents.count() == 3
    entry = LogEntry.objects.get(object_id=str(second.pk))
    assert entry.action_flag == ADDITION
    assert entry.get_change_message() == "Published version 2: added document “Keyboard Shortcuts.txt”."

    newcomer = make_user(email="newcomer@example.com")
    run = onboard_user(user=newcomer, trigger="login")
    assert Document.objects.filter(notebook__owner=newcomer).count() == 4
    assert run.blueprint_version == 2
    # Users onboarded before keep what they had until their onboarding is re-run.
    assert Document.objects.filter(notebook__owner=existing).count() == 3
    assert UserOnboarding.objects.get(user=existing).blueprint_version == 1
    onboard_user(user=existing, trigger="admin", force=True)
    assert Document.objects.filter(notebook__owner=existing).count() == 4


def test_renaming_a_document_keeps_its_key(client):
    data = publish_form(client)
    data[f"{rows(data)['Sample FAQ.txt']}-name"] = "Questions and Answers.txt"

    client.post(PUBLISH, data)

    faq = blueprint_current().documents.get(order=3)
    assert (faq.key, faq.name) == ("faq", "Questions and Answers.txt")


def test_leaving_a_document_out_changes_the_next_version_only(client):
    data = publish_form(client)
    data[f"{rows(data)['Sample FAQ.txt']}-DELETE"] = "on"

    client.post(PUBLISH, data)

    assert [d.key for d in blueprint_current().documents.all()] == ["welcome", "quick-start"]
    assert Blueprint.objects.get(version=1).documents.count() == 3


def field(name: str, value: object):
    return lambda data: data.update({name: value})


def document(name: str, part: str, value: object):
    return lambda data: data.update({f"{rows(data)[name]}-{part}": value})


def new_document(name: str, content: str, order: object):
    return lambda data: add_document(data, name, content, order)


INVALID_EDITS = [
    (field("space_name_template", "{nme}'s space"), "Unknown placeholder {nme}: the only one is {name}"),
    (field("space_name_template", "{0} space"), "Unknown placeholder {0}"),
    (field("space_name_template", "{first_name}'s space"), "Unknown placeholder {first_name}"),
    (field("space_name_template", "{name.__class__}"), "Unknown placeholder {name.__class__}"),
    (field("space_name_template", "{name's space"), "remove the lone “{” or “}”"),
    (field("space_name_template", "{{name}}"), "remove the “{{” or “}}”"),
    (field("space_name_template", "Personal"), "must contain {name}"),
    (field("notebook_name", "   "), "This field cannot be blank."),
    (field("agent_name", ""), "This field cannot be blank."),
    (field("notebook_name", "x" * 201), "at most 200 characters"),
    (field("notebook_name", "Start\x00"), "Null characters are not allowed."),
    (field("agent_type", "oracle"), "Select a valid choice."),
    (field("notebook_visibility", "everyone"), "Select a valid choice."),
    (field("agent_temperature", "3"), "less than or equal to 2.0"),
    (field("agent_temperature", "-1"), "greater than or equal to 0.0"),
    (field("agent_temperature", "hot"), "Enter a number."),
    (field("agent_temperature", "nan"), "Enter a number."),
    (field("agent_temperature", ""), "Enter a number, such as 0.7."),
    (field("agent_max_tokens", "0"), "greater than or equal to 1"),
    (field("agent_max_tokens", "999999999999999999999"), "less than or equal to 128000"),
    (field("agent_max_tokens", "2k"), "Enter a whole number."),
    (field("notebook_tags", "a, a"), "Tags must not repeat."),
    (field("agent_tags", ", ".join(f"tag{n}" for n in range(21))), "At most 20 tags are allowed."),
    (field("agent_tags", "x" * 51), "longer than 50 characters"),
    (
        document("Quick Start Guide.txt", "name", "Welcome to Aether.txt"),
        "“Welcome to Aether.txt” is used twice",
    ),
    (document("Quick Start Guide.txt", "name", "WELCOME to aether.TXT"), "is used twice"),
    (document("Quick Start Guide.txt", "name", ""), "This field cannot be blank."),
    (document("Sample FAQ.txt", "content", ""), "This field cannot be blank."),
    (document("Sample FAQ.txt", "order", "1"), "The order 1 is used twice"),
    (document("Sample FAQ.txt", "order", "0"), "Enter a number from 1 to 1000."),
    (document("Sample FAQ.txt", "order", "99999999999"), "Enter a number from 1 to 1000."),
    (document("Sample FAQ.txt", "order", "third"), "Enter a whole number."),
    (document("Sample FAQ.txt", "key", "welcome"), "The key “welcome” is used twice"),
    (document("Sample FAQ.txt", "key", "no spaces allowed"), "letters, numbers, underscores or hyphens"),
    (new_document("Sample FAQ.txt", "Again.\n", "4"), "“Sample FAQ.txt” is used twice"),
    (new_document("Notes.txt", "", "4"), "This field cannot be blank."),
    (field("change_note", ""), "Say what this version changes and why"),
    (field("change_note", "x" * 256), "at most 255 characters"),
]


@pytest.mark.parametrize(("change", "message"), INVALID_EDITS)
def test_an_invalid_edit_is_shown_on_the_form_with_what_was_typed_and_nothing_is_published(
    client, change, message
):
    data = publish_form(client)
    change(data)

    response = client.post(PUBLISH, data)

    assert response.status_code == 200
    page = page_text(response)
    assert "Nothing was published. Please correct the errors below." in page
    assert message in page
    # Everything typed is on the page again, as typed.
    shown = form_data(response.content.decode())
    typed = {key: str(value) for key, value in data.items() if key != "csrfmiddlewaretoken"}
    if message == "Select a valid choice.":
        # A forged value: a select can only show one of its own choices.
        typed = {
            key: value for key, value in typed.items() if key not in {"agent_type", "notebook_visibility"}
        }
    assert {key: shown.get(key) for key in typed} == typed
    assert Blueprint.objects.count() == 1


def test_an_error_on_a_document_is_shown_on_that_document(client):
    data = publish_form(client)
    data[f"{rows(data)['Sample FAQ.txt']}-order"] = "1"

    page = client.post(PUBLISH, data).content.decode()

    documents = re.split(r'<div class="onboarding-document">', page)[1:]
    assert ["is used twice" in html.unescape(part) for part in documents] == [False, False, True, False]


def test_a_damaged_page_is_refused_with_a_message(client):
    data = publish_form(client)
    without_version = {key: value for key, value in data.items() if key != "based_on_version"}
    without_management = {key: value for key, value in data.items() if "FORMS" not in key}
    huge_formset = {**data, "documents-TOTAL_FORMS": "100000000"}

    for forged, message in [
        (without_version, "This page is incomplete; reload it"),
        ({**data, "based_on_version": "-4"}, "This page is damaged; reload it"),
        (without_management, "ManagementForm data is missing or has been tampered with"),
        (huge_formset, "Please submit at most 50 forms."),
    ]:
        response = client.post(PUBLISH, forged)
        assert response.status_code == 200
        assert message in page_text(response), message
    assert Blueprint.objects.count() == 1


def test_saving_without_a_change_publishes_nothing_and_says_so(client):
    response = client.post(PUBLISH, publish_form(client, change_note="Nothing, really"))

    assert response.status_code == 200
    assert "Nothing changed since version 1, so nothing was published." in page_text(response)
    assert Blueprint.objects.count() == 1


def test_a_page_opened_before_another_publication_is_refused_as_stale(client):
    stale = publish_form(client, notebook_name="Mine")
    client.post(PUBLISH, publish_form(client, notebook_name="Theirs"))

    response = client.post(PUBLISH, stale)

    page = page_text(response)
    assert "Version 2 was published while you edited; reload" in page
    assert form_data(response.content.decode())["notebook_name"] == "Mine"
    assert blueprint_current().notebook_name == "Theirs"


def test_adding_a_document_row_keeps_what_was_typed_and_publishes_nothing(client):
    data = publish_form(client, notebook_name="Typed", change_note="")
    add_document(data, "First new.txt", "One.\n", "4")

    response = client.post(PUBLISH, {**data, "_another_document": "1"})

    page = page_text(response)
    shown = form_data(response.content.decode())
    assert "Nothing was published" not in page and "errorlist" not in page
    assert shown["notebook_name"] == "Typed"
    assert sorted(rows(shown)) == sorted(
        ["Welcome to Aether.txt", "Quick Start Guide.txt", "Sample FAQ.txt", "First new.txt"]
    )
    assert page.count("New document") == 2
    add_document(shown, "Second new.txt", "Two.\n", "5")
    shown.pop("_another_document", None)
    shown["change_note"] = "Two more"

    client.post(PUBLISH, shown)

    assert [d.name for d in blueprint_current().documents.all()][-2:] == ["First new.txt", "Second new.txt"]


def test_an_older_version_can_be_published_again_as_the_newest(client):
    client.post(PUBLISH, publish_form(client, notebook_name="Short-lived"))

    data = publish_form(client, "?from=1", change_note="Back to version 1")
    assert data["notebook_name"] == "Getting Started"
    assert data["based_on_version"] == "2"
    client.post(PUBLISH, data)

    third = blueprint_current()
    assert (third.version, third.notebook_name) == (3, "Getting Started")


@pytest.mark.parametrize("version", ["99", "abc", "-1", "1" * 30, "1%00"])
def test_starting_from_a_version_that_does_not_exist_says_so(client, version):
    response = client.get(PUBLISH, {"from": version}, follow=True)

    assert response.redirect_chain == [(PUBLISH, 302)]
    assert "this page starts from the current one" in page_text(response)


def test_versions_are_read_only_and_nothing_is_deleted(client, make_user):
    first = blueprint_current()
    client.post(PUBLISH, publish_form(client, notebook_name="Changed"))
    second = blueprint_current()

    old_page = page_text(client.get(change_url(first)))
    new_page = page_text(client.get(change_url(second)))
    posted = client.post(change_url(first), {"notebook_name": "Forged"})
    deleted = client.post(reverse("admin:onboarding_blueprint_delete", args=[first.pk]), {"post": "yes"})
    added = client.get(reverse("admin:onboarding_blueprint_add"))

    assert "<h1>View blueprint</h1>" in old_page
    assert 'name="notebook_name"' not in old_page
    assert f'href="{PUBLISH}?from=1">Publish a new version from this one' in old_page
    assert f'href="{PUBLISH}">Publish a new version' in new_page
    assert (posted.status_code, deleted.status_code, added.status_code) == (403, 403, 403)
    assert Blueprint.objects.get(pk=first.pk).notebook_name == "Getting Started"
    assert Blueprint.objects.count() == 2

    listing = page_text(client.get(VERSIONS))
    assert "Publish a new version" in listing
    assert "A change" in listing  # the change note of version 2


def test_only_staff_allowed_to_change_blueprints_may_publish(make_user):
    viewer = make_user(email="viewer@example.com", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_blueprint"))
    client = Client()
    client.force_login(viewer)

    assert "Publish a new version" not in page_text(client.get(VERSIONS))
    assert client.get(PUBLISH).status_code == 403
    assert client.post(PUBLISH, {"notebook_name": "X"}).status_code == 403
    assert Client().get(PUBLISH).status_code == 302  # to the admin's login
    assert Blueprint.objects.count() == 1


def test_runs_record_the_version_they_used(client, make_user):
    client.post(PUBLISH, publish_form(client, agent_name="Guide"))

    run = onboard_user(user=make_user(), trigger="login")

    assert OnboardingRun.objects.get(pk=run.pk).blueprint_version == 2


def test_without_any_blueprint_the_first_version_is_published_from_a_blank_form(client):
    Blueprint.objects.all().delete()
    data = form_data(client.get(PUBLISH).content.decode())
    assert data["based_on_version"] == "0"
    assert data["space_name_template"] == "{name}'s Personal Space"
    data.update(
        notebook_name="Start",
        agent_name="Helper",
        change_note="From scratch",
        **{"documents-0-name": "Hello.txt", "documents-0-content": "Hello!\n", "documents-0-order": "1"},
    )

    response = client.post(PUBLISH, data)

    assert response.status_code == 302, page_text(response)
    created = blueprint_current()
    assert (created.version, created.change_note) == (1, "From scratch")
    assert [(d.key, d.name) for d in created.documents.all()] == [("hello", "Hello.txt")]
