import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from onboarding.blueprints import blueprint_as_input, blueprint_create_version
from onboarding.models import Blueprint, BlueprintDocument
from onboarding.selectors import blueprint_current

pytestmark = pytest.mark.django_db


@pytest.fixture
def current():
    return blueprint_as_input(blueprint_current())


def test_the_default_blueprint_is_version_one_with_three_documents():
    blueprint = blueprint_current()
    assert blueprint.version == 1
    assert [d.name for d in blueprint.documents.all()] == [
        "Welcome to Aether.txt",
        "Quick Start Guide.txt",
        "Sample FAQ.txt",
    ]


def test_a_new_version_keeps_the_old_one_and_document_keys(current, user):
    fields, documents = current
    documents.append({"name": "Shortcuts.txt", "content": "Press ? for help.\n", "order": 4})

    blueprint = blueprint_create_version(fields=fields, documents=documents, actor=user, change_note="tips")

    assert blueprint.version == 2
    assert blueprint.created_by == user
    assert blueprint_current() == blueprint
    assert Blueprint.objects.get(version=1).documents.count() == 3
    assert [d.key for d in blueprint.documents.all()] == ["welcome", "quick-start", "faq", "shortcuts"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda f, d: f.update(notebook_name=""), "notebook_name", "This field cannot be blank."),
        (lambda f, d: f.update(agent_type="oracle"), "agent_type", "is not a valid choice"),
        (lambda f, d: f.update(agent_temperature=3), "agent_temperature", "less than or equal to 2.0"),
        (lambda f, d: f.update(notebook_tags=["a", "a"]), "notebook_tags", "Tags must not repeat."),
        (lambda f, d: f.update(space_name_template="Personal"), "space_name_template", "{name}"),
        (lambda f, d: d[1].update(name=d[0]["name"]), "documents[1].name", "is used twice"),
        (lambda f, d: d[1].update(name=d[0]["name"].upper()), "documents[1].name", "is used twice"),
        (lambda f, d: d[2].update(content=""), "documents[2].content", "This field cannot be blank."),
        # What a blueprint gives users must be something they could have typed themselves.
        (lambda f, d: f.update(notebook_description="x" * 10_001), "notebook_description", "at most 10000"),
        (lambda f, d: f.update(agent_system_prompt="x" * 32_001), "agent_system_prompt", "at most 32000"),
    ],
)
def test_invalid_content_is_rejected_and_nothing_is_saved(current, change, field, message):
    fields, documents = current
    change(fields, documents)

    with pytest.raises(ValidationError) as caught:
        blueprint_create_version(fields=fields, documents=documents)

    assert field in caught.value.message_dict
    assert any(message in text for text in caught.value.message_dict[field])
    assert Blueprint.objects.count() == 1
    assert BlueprintDocument.objects.count() == 3


def publish_at_once(count: int, **options) -> list[Blueprint | BaseException]:
    """``count`` publications started at the same moment, each on its own connection."""
    fields, documents = blueprint_as_input(blueprint_current())
    barrier = threading.Barrier(count)
    outcomes: list[Blueprint | BaseException] = []

    def publish(number: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(
                blueprint_create_version(
                    fields={**fields, "notebook_name": f"Notebook of editor {number}"},
                    documents=documents,
                    change_note=f"editor {number}",
                    **options,
                )
            )
        except BaseException as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_publications_each_get_the_next_version():
    outcomes = publish_at_once(3)

    assert all(isinstance(outcome, Blueprint) for outcome in outcomes), outcomes
    assert sorted(outcome.version for outcome in outcomes) == [2, 3, 4]
    assert list(Blueprint.objects.order_by("version").values_list("version", flat=True)) == [1, 2, 3, 4]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_of_two_edits_of_one_version_the_later_is_refused_as_stale():
    outcomes = publish_at_once(2, based_on_version=1)

    published = [outcome for outcome in outcomes if isinstance(outcome, Blueprint)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, ValidationError)]
    assert [blueprint.version for blueprint in published] == [2]
    assert len(refused) == 1
    assert "Version 2 was published while you edited; reload" in refused[0].messages[0]
    assert Blueprint.objects.count() == 2


def test_generated_keys_never_collide_and_a_name_without_a_slug_gets_one(current):
    fields, documents = current
    taken = documents[0]["key"]
    documents += [
        # Slugs to the key an existing document carries, and to the same slug as each other.
        {"name": f"{taken}!", "content": "A\n", "order": 4},
        {"name": f"{taken}?", "content": "B\n", "order": 5},
        {"name": "★★★", "content": "C\n", "order": 6},
        {"name": "!!!", "content": "D\n", "order": 7},
    ]

    blueprint = blueprint_create_version(fields=fields, documents=documents)

    keys = [d.key for d in blueprint.documents.order_by("order")]
    assert keys[3:] == [f"{taken}-2", f"{taken}-3", "document", "document-2"]
    assert len(set(keys)) == 7
