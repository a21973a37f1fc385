"""The sample guides describe only what Aether does, read well on a phone, and reach existing
installations as a new blueprint version (migration 0006) that leaves staff's own words alone."""

import importlib
import re
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from onboarding.defaults import default_blueprint_spec

MIGRATION = "0006_sample_texts_describe_the_product"
BEFORE = [("onboarding", "0005_useronboarding_notice_dismissed_at")]
AFTER = [("onboarding", MIGRATION)]
ORIGINAL_DIR = Path(__file__).resolve().parent / "data" / "blueprint_v1"
ORIGINAL_FILES = {"welcome": "welcome.txt", "quick-start": "quick_start.txt", "faq": "faq.txt"}
ORIGINAL_AGENT_DESCRIPTION = "Answers questions about your notebooks, starting with Getting Started."

# What the product does not do: no page or route asks a model anything.
UNTRUE_CLAIMS = [
    r"\bask (the |your |an? )?(personal assistant|agents?|ai)\b",
    r"\b(agents?|assistants?) (that |will |can )?(answer|reply|respond)",
    r"\bai (agents|assistants)\b",
    r"\bsee an agent at work\b",
]

migration = importlib.import_module(f"onboarding.migrations.{MIGRATION}")


def _original(key: str) -> str:
    return (ORIGINAL_DIR / ORIGINAL_FILES[key]).read_text(encoding="utf-8")


def untrue_claims(text: str) -> list[str]:
    return [pattern for pattern in UNTRUE_CLAIMS if re.search(pattern, text, flags=re.IGNORECASE)]


def test_the_original_guides_made_claims_the_new_ones_do_not():
    """The check finds what the first guides promised, so its silence on the new ones means something."""
    assert untrue_claims(_original("welcome"))
    _fields, documents = default_blueprint_spec()
    for document in documents:
        assert untrue_claims(document["content"]) == [], document["name"]
    assert untrue_claims(_fields["agent_description"]) == []


def test_the_guides_are_not_hard_wrapped_so_they_reflow_on_a_phone():
    _fields, documents = default_blueprint_spec()
    for document in documents:
        for line in document["content"].splitlines():
            # A wrapped sentence continues on an indented or lower-case line; a paragraph is one line.
            assert not line.startswith(" "), (document["name"], line)
            assert not line[:1].islower() or line.startswith("curl "), (document["name"], line)
            # No rule of "=" wider than a phone's line.
            assert not re.fullmatch(r"[=\-]{6,}", line), (document["name"], line)


def test_the_migration_knows_the_original_guides_by_their_fingerprints():
    for key in ORIGINAL_FILES:
        assert migration._fingerprint(_original(key)) == migration.ORIGINAL_TEXTS[key]
        # Saved through a form, line endings and trailing spaces change; the guide is still the original.
        edited = _original(key).replace("\n", "  \r\n")
        assert migration._fingerprint(edited) == migration.ORIGINAL_TEXTS[key]


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return MigrationExecutor(connection).loader.project_state(target).apps


def _publish(apps, version: int, texts: dict[str, str], agent_description: str) -> None:
    fields, documents = default_blueprint_spec()
    fields["agent_description"] = agent_description
    blueprint = apps.get_model("onboarding", "Blueprint").objects.create(version=version, **fields)
    for document in documents:
        apps.get_model("onboarding", "BlueprintDocument").objects.create(
            blueprint=blueprint,
            key=document["key"],
            name=document["name"],
            content=texts[document["key"]],
            order=document["order"],
        )


def _versions(apps) -> list[tuple[int, dict[str, str], str]]:
    Blueprint = apps.get_model("onboarding", "Blueprint")
    return [
        (
            blueprint.version,
            {d.key: d.content for d in blueprint.documents.all()},
            blueprint.agent_description,
        )
        for blueprint in Blueprint.objects.order_by("version")
    ]


@pytest.fixture
def before_0006():
    """The database as migration 0006 finds it, with no blueprint; migrated to the end afterwards."""
    apps = _migrate(BEFORE)
    apps.get_model("onboarding", "Blueprint").objects.all().delete()
    yield apps
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_an_installation_on_the_first_guides_gets_a_new_version_with_the_new_ones(before_0006):
    originals = {key: _original(key) for key in ORIGINAL_FILES}
    _publish(before_0006, 1, originals, ORIGINAL_AGENT_DESCRIPTION)

    apps = _migrate(AFTER)

    _fields, documents = default_blueprint_spec()
    new_texts = {document["key"]: document["content"] for document in documents}
    versions = _versions(apps)
    assert [version for version, _texts, _description in versions] == [1, 2]
    assert versions[0][1] == originals  # version 1, and the users who received it, keep the first guides
    assert versions[1][1] == new_texts
    assert versions[1][2] == _fields["agent_description"]
    assert (
        apps.get_model("onboarding", "Blueprint").objects.get(version=2).change_note == migration.CHANGE_NOTE
    )


@pytest.mark.django_db(transaction=True)
def test_texts_staff_rewrote_are_kept_and_the_rest_replaced(before_0006):
    originals = {key: _original(key) for key in ORIGINAL_FILES}
    _publish(before_0006, 1, originals, ORIGINAL_AGENT_DESCRIPTION)
    # Staff published a second version through the admin: their own FAQ, the welcome saved with CRLF.
    staff = {**originals, "faq": "Our own FAQ.", "welcome": originals["welcome"].replace("\n", "\r\n")}
    _publish(before_0006, 2, staff, "Our own description.")

    apps = _migrate(AFTER)

    _fields, documents = default_blueprint_spec()
    new_texts = {document["key"]: document["content"] for document in documents}
    version, texts, description = _versions(apps)[-1]
    assert version == 3
    assert texts == {
        "welcome": new_texts["welcome"],
        "quick-start": new_texts["quick-start"],
        "faq": "Our own FAQ.",
    }
    assert description == "Our own description."


@pytest.mark.django_db(transaction=True)
def test_a_fresh_installation_already_has_the_new_guides_and_gets_no_new_version(before_0006):
    _fields, documents = default_blueprint_spec()
    _publish(before_0006, 1, {d["key"]: d["content"] for d in documents}, _fields["agent_description"])

    apps = _migrate(AFTER)

    assert [version for version, _texts, _description in _versions(apps)] == [1]
