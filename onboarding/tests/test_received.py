"""What each user received: every sample's version, name and text digest, kept on their onboarding state."""

import hashlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from notebooks.models import Document
from onboarding.blueprints import blueprint_as_input, blueprint_create_version
from onboarding.models import BlueprintDocument, UserOnboarding
from onboarding.selectors import blueprint_current
from onboarding.services import onboard_user


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def expected_receipts(version: int) -> dict:
    return {
        d.key: {"version": version, "name": d.name, "sha256": sha(d.content)}
        for d in BlueprintDocument.objects.filter(blueprint__version=version)
    }


def publish_with_a_new_document(note: str = "Add release notes"):
    fields, documents = blueprint_as_input(blueprint_current())
    documents.append({"key": "release-notes", "name": "Release notes.txt", "content": "New.\n", "order": 9})
    return blueprint_create_version(fields=fields, documents=documents, change_note=note)


@pytest.mark.django_db
def test_a_first_onboarding_records_every_sample_it_gave(ada):
    received = UserOnboarding.objects.get(user=ada).received

    assert received == expected_receipts(1)
    assert set(received) == {"welcome", "quick-start", "faq"}


@pytest.mark.django_db
def test_a_forced_run_adds_what_it_creates_and_keeps_what_was_received_before(ada):
    Document.objects.get(notebook__owner=ada, onboarding_key="faq").delete()
    publish_with_a_new_document()

    onboard_user(user=ada, trigger="admin", force=True)

    received = UserOnboarding.objects.get(user=ada).received
    v1, v2 = expected_receipts(1), expected_receipts(2)
    # Created again from version 2: recorded as version 2's; the two the user kept stay version 1's.
    assert received == {
        "welcome": v1["welcome"],
        "quick-start": v1["quick-start"],
        "faq": v2["faq"],
        "release-notes": v2["release-notes"],
    }


@pytest.mark.django_db(transaction=True)
def test_the_migration_records_what_users_onboarded_before_it_received(make_user):
    publish_with_a_new_document()
    on_v2 = make_user()
    onboard_user(user=on_v2, trigger="login")
    renamed = make_user()
    onboard_user(user=renamed, trigger="login")
    Document.objects.filter(notebook__owner=renamed, onboarding_key="faq").update(name="Mine.txt")
    never = make_user()
    UserOnboarding.objects.create(user=never, status="failed", attempts=1)
    UserOnboarding.objects.update(received={})  # as before the migration

    executor = MigrationExecutor(connection)
    executor.migrate([("onboarding", "0012_useronboarding_received")])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    received = dict(UserOnboarding.objects.values_list("user_id", "received"))
    # The version's names and texts: what the user changed since is what roll-outs tell from them.
    assert received == {on_v2.pk: expected_receipts(2), renamed.pk: expected_receipts(2), never.pk: {}}
