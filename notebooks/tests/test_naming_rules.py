"""The naming rules the services own, so the API and the pages agree:

* a notebook's name is unique in its space, ignoring case (search ignores case too);
* tags that differ only in case are one tag, and repeating it is refused with both spellings named;
* names are one line of visible text (no control characters, line breaks or direction overrides);
* an agent draws on at most 100 notebooks.
"""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from accounts.models import Space
from accounts.services import space_create_organization
from aether.tests.concurrency import wait_until_blocked
from notebooks.models import Notebook
from notebooks.services import (
    AGENT_KNOWLEDGE_MAX,
    agent_create,
    document_create,
    document_update,
    notebook_create,
    notebook_update,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def space(user):
    return space_create_organization(owner=user, name="Acme")


def test_a_notebook_name_taken_in_the_space_is_refused_whatever_its_case(space, user, make_user):
    notebook_create(space=space, owner=user, name="Research")

    with pytest.raises(ValidationError) as caught:
        notebook_create(space=space, owner=user, name="  RESEARCH ")

    assert caught.value.message_dict == {
        "name": ["This space already has a notebook called “Research”; choose another name."]
    }
    elsewhere = space_create_organization(owner=user, name="Elsewhere")
    assert notebook_create(space=elsewhere, owner=user, name="research").name == "research"


def test_renaming_a_notebook_checks_the_other_notebooks_only(space, user):
    research = notebook_create(space=space, owner=user, name="Research")
    drafts = notebook_create(space=space, owner=user, name="Drafts")

    assert notebook_update(notebook=research, name="research").name == "research"
    with pytest.raises(ValidationError, match="already has a notebook called “research”"):
        notebook_update(notebook=drafts, name="Research")
    drafts.refresh_from_db()
    assert drafts.name == "Drafts"


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (["ml", "ML"], "Tags must not repeat, ignoring case: “ml” and “ML” are the same tag."),
        (["ml", "papers", "ml"], "Tags must not repeat."),
        (["ok", "line\nbreak"], "Names cannot contain control characters"),
    ],
)
def test_tags_that_repeat_ignoring_case_are_refused(space, user, tags, message):
    with pytest.raises(ValidationError) as caught:
        notebook_create(space=space, owner=user, name="Tagged", tags=tags)

    assert caught.value.message_dict["tags"][0].startswith(message)
    assert not Notebook.objects.filter(name="Tagged").exists()


@pytest.mark.parametrize(
    "name", ["tab\there", "line\nbreak", "bell\x07", "report\u202etxt.exe", "para\u2029graph"]
)
def test_names_with_control_characters_or_direction_overrides_are_refused(space, user, name):
    notebook = notebook_create(space=space, owner=user, name="Plans")
    document = document_create(notebook=notebook, name="plan.txt", data="text")

    for attempt in (
        lambda: notebook_create(space=space, owner=user, name=name),
        lambda: notebook_update(notebook=notebook, name=name),
        lambda: document_update(document=document, name=name),
        lambda: agent_create(space=space, owner=user, name=name),
        lambda: agent_create(space=space, owner=user, name="Agent", model=name),
        lambda: space_create_organization(owner=user, name=name),
    ):
        with pytest.raises(ValidationError, match="Names cannot contain control characters"):
            attempt()


def test_a_space_description_is_bounded_like_a_notebooks(user):
    with pytest.raises(ValidationError) as caught:
        space_create_organization(owner=user, name="Wordy", description="x" * 10_001)

    assert "description" in caught.value.message_dict
    assert not Space.objects.filter(name="Wordy").exists()


def test_an_agent_draws_on_at_most_100_notebooks(space, user):
    notebook = notebook_create(space=space, owner=user, name="Plans")
    too_many = [notebook.pk, *(f"00000000-0000-4000-8000-{n:012d}" for n in range(AGENT_KNOWLEDGE_MAX))]

    with pytest.raises(ValidationError) as caught:
        agent_create(space=space, owner=user, name="Greedy", notebook_ids=too_many)

    assert caught.value.message_dict == {"notebook_ids": ["An agent can draw on at most 100 notebooks."]}


def test_the_api_refuses_a_taken_name_and_case_repeated_tags_with_the_same_words(api_client, ada):
    client = api_client(ada)

    taken = client.post("/api/v1/notebooks", {"name": "getting started"}, format="json")
    tags = client.post("/api/v1/notebooks", {"name": "New", "tags": ["Q3", "q3"]}, format="json")

    assert taken.status_code == tags.status_code == 400
    assert taken.json() == {
        "name": ["This space already has a notebook called “Getting Started”; choose another name."]
    }
    assert tags.json() == {"tags": ["Tags must not repeat, ignoring case: “Q3” and “q3” are the same tag."]}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_name_being_taken_by_another_transaction_waits_for_it_and_is_refused(user):
    """Two requests naming a notebook alike at once: the second waits for the first, then is refused."""
    space = space_create_organization(owner=user, name="Acme")
    created, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                notebook_create(space=space, owner=user, name="Research")
                created.set()
                release.wait(10)
        finally:
            connection.close()

    def second() -> None:
        created.wait(10)
        try:
            notebook_create(space=space, owner=user, name="research")
        except ValidationError as error:
            outcome["error"] = error.message_dict["name"][0]
        finally:
            outcome["done_before_release"] = not release.is_set()
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    created.wait(10)
    wait_until_blocked()  # the second request waits for the space's lock
    release.set()
    for thread in threads:
        thread.join(15)

    assert outcome == {
        "error": "This space already has a notebook called “Research”; choose another name.",
        "done_before_release": False,
    }
    assert list(Notebook.objects.filter(space=space).values_list("name", flat=True)) == ["Research"]
