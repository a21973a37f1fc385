"""Fixtures for roll-outs: users on version 1 who changed their samples, version 2 to roll out, and a
task queue kept in memory."""

from dataclasses import dataclass

import pytest
from django.test import override_settings
from django_tasks import default_task_backend

from accounts.models import User
from notebooks.models import Document
from onboarding.blueprints import blueprint_as_input, blueprint_create_version
from onboarding.models import Blueprint
from onboarding.selectors import blueprint_current
from onboarding.services import onboard_user
from onboarding.tasks import rollout_batch

NEW_WELCOME = "Welcome to Aether, your knowledge workspace.\n\nThis guide was rewritten for version 2.\n"
RELEASE_NOTES = "What changed in Aether this month.\n"


def publish_version_2() -> Blueprint:
    """Version 2: adds "Release notes.txt" and rewrites the welcome guide's text."""
    fields, documents = blueprint_as_input(blueprint_current())
    for document in documents:
        if document["key"] == "welcome":
            document["content"] = NEW_WELCOME
    documents.append(
        {"key": "release-notes", "name": "Release notes.txt", "content": RELEASE_NOTES, "order": 4}
    )
    return blueprint_create_version(fields=fields, documents=documents, change_note="Release notes")


@dataclass
class OnVersion1:
    untouched: User
    deleted: User  # deleted "Sample FAQ.txt"
    renamed: User  # renamed "Welcome to Aether.txt" to "My welcome.txt"


@pytest.fixture
def on_version_1(make_user) -> OnVersion1:
    """Three users onboarded with version 1: one left it alone, one deleted a sample, one renamed one."""
    users = OnVersion1(
        untouched=make_user(email="untouched@example.com"),
        deleted=make_user(email="deleted@example.com"),
        renamed=make_user(email="renamed@example.com"),
    )
    for user in (users.untouched, users.deleted, users.renamed):
        onboard_user(user=user, trigger="login")
    Document.objects.get(notebook__owner=users.deleted, onboarding_key="faq").delete()
    Document.objects.filter(notebook__owner=users.renamed, onboarding_key="welcome").update(
        name="My welcome.txt"
    )
    return users


class Queue:
    """The task queue, kept in memory (django-tasks' dummy backend); ``work`` runs it as a worker would."""

    def __init__(self) -> None:
        self.backend = default_task_backend

    @property
    def waiting(self) -> list:
        return list(self.backend.results)

    def work(self, *, limit: int = 1000) -> int:
        """Run queued tasks, oldest first, including those they queue; answer how many ran."""
        ran = 0
        while self.backend.results and ran < limit:
            result = self.backend.results.pop(0)
            rollout_batch.call(*result.args, **result.kwargs)
            ran += 1
        return ran


@pytest.fixture
def queue() -> Queue:
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}):
        yield Queue()


@pytest.fixture
def fail_rollout_writes_for(monkeypatch: pytest.MonkeyPatch):
    """``fail_rollout_writes_for(user)``: that user's roll-out writes raise "disk full", in the one
    statement and in the usual path alike (a fault injected into our own code: a full disk cannot be
    had on demand here)."""
    from onboarding import rollouts

    real_write, real_statement = rollouts._write, rollouts.upgrade_as_read

    def inject(user: User) -> None:
        def failing_write(upgrade, user_id, notebook_id):
            if user_id == user.pk:
                raise RuntimeError("disk full")
            real_write(upgrade, user_id, notebook_id)

        def failing_statement(**kwargs):
            if kwargs["user_id"] == user.pk:
                raise RuntimeError("disk full")
            return real_statement(**kwargs)

        monkeypatch.setattr(rollouts, "_write", failing_write)
        monkeypatch.setattr(rollouts, "upgrade_as_read", failing_statement)

    return inject
