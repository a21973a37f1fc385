import pytest
from django.core.exceptions import ValidationError

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
    assert [d.key for d in blueprint.documents.all()] == ["welcome", "quick-start", "faq", "shortcutstxt"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda f, d: f.update(notebook_name=""), "notebook_name", "This field cannot be blank."),
        (lambda f, d: f.update(agent_type="oracle"), "agent_type", "is not a valid choice"),
        (lambda f, d: f.update(agent_temperature=3), "agent_temperature", "less than or equal to 2.0"),
        (lambda f, d: f.update(notebook_tags=["a", "a"]), "notebook_tags", "Tags must not repeat."),
        (lambda f, d: f.update(space_name_template="Personal"), "space_name_template", "{name}"),
        (lambda f, d: d[1].update(name=d[0]["name"]), "documents", "is used twice"),
        (lambda f, d: d[1].update(name=d[0]["name"].upper()), "documents", "is used twice"),
        (lambda f, d: d[2].update(content=""), "documents", "content: This field cannot be blank."),
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
