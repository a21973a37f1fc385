"""Every invalid blueprint is refused by the service, with a message under the key of what is wrong.

The admin's publish page and any command publishing from a file call the same service, so these
rules and messages are theirs too. Values arrive typed (a form's cleaned data, a JSON file): each
case below is something a hand-edited file or a forged form could send.
"""

import pytest
from django.core.exceptions import ValidationError

from onboarding.blueprints import (
    BlueprintUnchanged,
    blueprint_as_input,
    blueprint_changes,
    blueprint_create_version,
)
from onboarding.models import Blueprint, BlueprintDocument
from onboarding.selectors import blueprint_current

pytestmark = pytest.mark.django_db


def field(name, value):
    return lambda fields, documents: fields.update({name: value})


def document(index, **values):
    return lambda fields, documents: documents[index].update(values)


def replace_documents(value):
    return lambda fields, documents: value


INVALID = [
    # The personal space's name template: {name} and nothing else in braces.
    (field("space_name_template", "{nme}'s space"), "space_name_template", "Unknown placeholder {nme}"),
    (field("space_name_template", "{0} space"), "space_name_template", "Unknown placeholder {0}"),
    (field("space_name_template", "{}'s space"), "space_name_template", "Unknown placeholder {}"),
    (
        field("space_name_template", "{first_name}'s space"),
        "space_name_template",
        "Unknown placeholder {first_name}: the only one is {name}",
    ),
    (field("space_name_template", "{name.__class__}"), "space_name_template", "{name.__class__}"),
    (field("space_name_template", "{name[0]}'s space"), "space_name_template", "{name[0]}"),
    (field("space_name_template", "{name!r}'s space"), "space_name_template", "{name!r}"),
    (field("space_name_template", "{name:>300}"), "space_name_template", "{name:>300}"),
    (field("space_name_template", "{name's space"), "space_name_template", "remove the lone “{” or “}”"),
    (field("space_name_template", "name}'s space"), "space_name_template", "remove the lone “{” or “}”"),
    (field("space_name_template", "{{name}}'s space"), "space_name_template", "remove the “{{” or “}}”"),
    (field("space_name_template", "{name} {{x}}"), "space_name_template", "remove the “{{” or “}}”"),
    (field("space_name_template", "Personal"), "space_name_template", "must contain {name}"),
    (field("space_name_template", "   "), "space_name_template", "cannot be blank"),
    (field("space_name_template", "{name}" + "x" * 200), "space_name_template", "at most 200"),
    (field("space_name_template", 7), "space_name_template", "Enter text."),
    # Names and choices.
    (field("notebook_name", ""), "notebook_name", "cannot be blank"),
    (field("notebook_name", "   "), "notebook_name", "cannot be blank"),
    (field("notebook_name", None), "notebook_name", "Enter text."),
    (field("notebook_name", 12), "notebook_name", "Enter text."),
    (field("notebook_name", "x" * 201), "notebook_name", "at most 200"),
    (field("notebook_name", "Start\x00"), "notebook_name", "NUL"),
    # Half a character, which a JSON file can spell ("\ud800") and no database column stores.
    (field("notebook_name", "Start\ud800"), "notebook_name", "a lone surrogate"),
    (field("agent_name", ""), "agent_name", "cannot be blank"),
    (field("agent_model", ""), "agent_model", "cannot be blank"),
    (field("notebook_visibility", "everyone"), "notebook_visibility", "is not a valid choice"),
    (field("agent_type", "oracle"), "agent_type", "is not a valid choice"),
    (field("agent_description", ["a"]), "agent_description", "Enter text."),
    (field("agent_system_prompt", "x" * 32_001), "agent_system_prompt", "at most 32000"),
    # Numbers out of range or of the wrong kind.
    (field("agent_temperature", 2.01), "agent_temperature", "less than or equal to 2.0"),
    (field("agent_temperature", -0.1), "agent_temperature", "greater than or equal to 0.0"),
    (field("agent_temperature", "hot"), "agent_temperature", "Enter a number"),
    (field("agent_temperature", float("nan")), "agent_temperature", "finite"),
    (field("agent_temperature", float("inf")), "agent_temperature", "finite"),
    (field("agent_temperature", True), "agent_temperature", "Enter a number"),
    (field("agent_temperature", None), "agent_temperature", "Enter a number"),
    (field("agent_max_tokens", 0), "agent_max_tokens", "greater than or equal to 1"),
    (field("agent_max_tokens", 128_001), "agent_max_tokens", "less than or equal to 128000"),
    (field("agent_max_tokens", 10**30), "agent_max_tokens", "less than or equal to 128000"),
    (field("agent_max_tokens", 1.5), "agent_max_tokens", "whole number"),
    (field("agent_max_tokens", "2000"), "agent_max_tokens", "whole number"),
    (field("agent_max_tokens", False), "agent_max_tokens", "whole number"),
    # Tags that are not a list of distinct, short, non-empty strings.
    (field("notebook_tags", "welcome, onboarding"), "notebook_tags", "Tags must be a list of strings."),
    (field("notebook_tags", {"welcome": True}), "notebook_tags", "Tags must be a list of strings."),
    (field("notebook_tags", None), "notebook_tags", "Tags must be a list of strings."),
    (field("agent_tags", ["ok", 5]), "agent_tags", "Each tag must be a non-empty string."),
    (field("agent_tags", ["ok", ""]), "agent_tags", "Each tag must be a non-empty string."),
    (field("agent_tags", ["a", "a"]), "agent_tags", "Tags must not repeat."),
    (field("agent_tags", [f"t{n}" for n in range(21)]), "agent_tags", "At most 20 tags"),
    (field("agent_tags", ["x" * 51]), "agent_tags", "longer than 50"),
    (field("agent_tags", ["a\x00b"]), "agent_tags", "NUL"),
    (field("agent_tags", ["a\udfffb"]), "agent_tags", "Tags must not contain a lone surrogate"),
    # The documents as a whole.
    (replace_documents("Welcome.txt"), "documents", "The documents are a list."),
    (replace_documents({"name": "Welcome.txt"}), "documents", "The documents are a list."),
    (
        replace_documents([{"name": f"{n}.txt", "content": "x", "order": n} for n in range(1, 52)]),
        "documents",
        "at most 50 sample documents",
    ),
    (replace_documents(["Welcome.txt"]), "documents[0]", "Each document is an object"),
    (document(0, file="welcome.txt"), "documents[0]", "Unknown fields: file."),
    # One document's fields.
    (document(1, name=""), "documents[1].name", "cannot be blank"),
    (document(1, name="  "), "documents[1].name", "cannot be blank"),
    (document(1, name=None), "documents[1].name", "cannot be blank"),
    (document(1, name=3), "documents[1].name", "Enter text."),
    (document(1, name="x" * 256), "documents[1].name", "at most 255"),
    (document(1, name="a\x00.txt"), "documents[1].name", "NUL"),
    (
        document(2, name="Welcome to Aether.txt"),
        "documents[2].name",
        "The name “Welcome to Aether.txt” is used twice",
    ),
    (document(2, name="WELCOME TO AETHER.TXT"), "documents[2].name", "is used twice"),
    (document(2, content=""), "documents[2].content", "cannot be blank"),
    (document(2, content=b"bytes"), "documents[2].content", "Enter text."),
    (document(2, content="a\x00b"), "documents[2].content", "NUL"),
    (document(2, content="a\ud800b"), "documents[2].content", "a lone surrogate"),
    (document(0, order=0), "documents[0].order", "from 1 to 1000"),
    (document(0, order=-3), "documents[0].order", "from 1 to 1000"),
    (document(0, order=1001), "documents[0].order", "from 1 to 1000"),
    (document(0, order=2**40), "documents[0].order", "from 1 to 1000"),
    (document(0, order="1"), "documents[0].order", "whole number"),
    (document(0, order=1.5), "documents[0].order", "whole number"),
    (document(0, order=None), "documents[0].order", "whole number"),
    (document(0, order=True), "documents[0].order", "whole number"),
    (document(2, order=1), "documents[2].order", "The order 1 is used twice"),
    (document(2, key="welcome"), "documents[2].key", "The key “welcome” is used twice"),
    (document(2, key="not a slug!"), "documents[2].key", "letters, numbers, underscores or hyphens"),
    (document(2, key="k" * 101), "documents[2].key", "at most 100"),
    (document(2, key=["faq"]), "documents[2].key", "Enter text."),
]


@pytest.mark.parametrize(("change", "where", "message"), INVALID)
def test_an_invalid_blueprint_is_refused_naming_what_is_wrong(change, where, message):
    fields, documents = blueprint_as_input(blueprint_current())
    replaced = change(fields, documents)

    with pytest.raises(ValidationError) as caught:
        blueprint_create_version(
            fields=fields, documents=documents if replaced is None else replaced, change_note="Try"
        )

    errors = caught.value.message_dict
    assert where in errors, errors
    assert any(message in text for text in errors[where]), errors[where]
    assert Blueprint.objects.count() == 1
    assert BlueprintDocument.objects.count() == 3


def test_a_document_larger_than_an_upload_may_be_is_refused(settings):
    settings.DOCUMENT_MAX_BYTES = 1024
    fields, documents = blueprint_as_input(blueprint_current())
    documents[0]["content"] = "é" * 513  # 1,026 bytes in UTF-8

    with pytest.raises(ValidationError) as caught:
        blueprint_create_version(fields=fields, documents=documents)

    assert caught.value.message_dict["documents[0].content"] == [
        "A sample document may be at most 1.0 KB, as large as a document a user can upload."
    ]


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("x" * 256, "At most 255 characters; this note has 256."),
        ("why\x00", "NUL"),
        ("why\ud800", "lone surrogate"),
        (None, "Enter text."),
    ],
)
def test_an_invalid_change_note_is_refused_with_the_other_errors(note, message):
    fields, documents = blueprint_as_input(blueprint_current())
    fields["notebook_name"] = ""

    with pytest.raises(ValidationError) as caught:
        blueprint_create_version(fields=fields, documents=documents, change_note=note)

    errors = caught.value.message_dict
    assert message in errors["change_note"][0]
    assert "notebook_name" in errors
    assert Blueprint.objects.count() == 1


def test_every_problem_is_reported_at_once():
    fields, documents = blueprint_as_input(blueprint_current())
    fields.update(space_name_template="{nme}", agent_temperature=9)
    documents[1].update(name="", order=0)

    with pytest.raises(ValidationError) as caught:
        blueprint_create_version(fields=fields, documents=documents)

    assert set(caught.value.message_dict) == {
        "space_name_template",
        "agent_temperature",
        "documents[1].name",
        "documents[1].order",
    }


def test_an_unchanged_blueprint_publishes_nothing_and_says_so():
    fields, documents = blueprint_as_input(blueprint_current())

    with pytest.raises(BlueprintUnchanged) as caught:
        blueprint_create_version(fields=fields, documents=documents, change_note="Only a note")

    assert caught.value.messages == ["Nothing changed since version 1, so nothing was published."]
    assert Blueprint.objects.count() == 1


def test_blanks_around_one_line_values_are_dropped_and_a_trimmed_copy_is_unchanged():
    fields, documents = blueprint_as_input(blueprint_current())
    fields["notebook_name"] = "  Getting Started  "
    documents[0]["name"] = " Welcome to Aether.txt "

    with pytest.raises(BlueprintUnchanged):
        blueprint_create_version(fields=fields, documents=documents)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Release notes.txt", "release-notes"),
        ("archive.tar.gz", "archive-tar"),
        ("Über uns.md", "uber-uns"),
        (".env", "env"),
        ("说明.txt", "document"),
    ],
)
def test_a_new_document_gets_a_key_from_its_name_without_the_extension(name, key):
    fields, documents = blueprint_as_input(blueprint_current())
    documents.append({"name": name, "content": "Hello.\n", "order": 4})

    blueprint = blueprint_create_version(fields=fields, documents=documents)

    assert blueprint.documents.get(name=name).key == key


def test_the_changes_of_a_version_are_told_in_words():
    first = blueprint_current()
    fields, documents = blueprint_as_input(first)
    fields.update(notebook_name="Start here", agent_temperature=0.2, notebook_description="New words.")
    fields["agent_tags"] = ["default"]
    documents[0].update(name="Welcome.txt", order=5)
    documents[1]["content"] = "Shorter.\n"
    del documents[2]
    documents.append({"name": "Release notes.txt", "content": "v2\n", "order": 4})

    second = blueprint_create_version(fields=fields, documents=documents, change_note="Words")

    assert blueprint_changes(first, second) == [
        "notebook name: “Getting Started” → “Start here”",
        "notebook description changed",
        "agent temperature: 0.7 → 0.2",
        "agent tags: default, personal-assistant, onboarding → default",
        "document “Quick Start Guide.txt”: text changed",
        "added document “Release notes.txt”",
        "document “Welcome to Aether.txt”: renamed to “Welcome.txt”, order 1 → 5",
        "removed document “Sample FAQ.txt”",
    ]


def test_line_endings_from_a_browser_or_an_editor_change_nothing():
    fields, documents = blueprint_as_input(blueprint_current())
    # A browser sends a textarea's lines ending with CR LF; old Mac editors with CR.
    documents[0]["content"] = documents[0]["content"].replace("\n", "\r\n")
    documents[1]["content"] = documents[1]["content"].replace("\n", "\r")
    with pytest.raises(BlueprintUnchanged):
        blueprint_create_version(fields=fields, documents=documents)

    fields["notebook_description"] = "First line.\r\nSecond line."
    blueprint = blueprint_create_version(fields=fields, documents=documents)
    assert blueprint.notebook_description == "First line.\nSecond line."
    assert "\r" not in blueprint.documents.get(key="welcome").content
