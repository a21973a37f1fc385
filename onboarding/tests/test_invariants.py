"""The database itself refuses what onboarding must never create twice."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from notebooks.models import Agent, Document, Notebook
from onboarding.selectors import AGENT_KEY, NOTEBOOK_KEY
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db


def test_a_second_onboarding_agent_for_one_owner_is_refused(ada):
    agent = Agent.objects.get(owner=ada, onboarding_key=AGENT_KEY)

    with pytest.raises(IntegrityError), transaction.atomic():
        Agent.objects.create(space=agent.space, owner=ada, name="Another assistant", onboarding_key=AGENT_KEY)


def test_a_second_onboarding_notebook_for_one_owner_is_refused(ada):
    notebook = Notebook.objects.get(owner=ada, onboarding_key=NOTEBOOK_KEY)

    with pytest.raises(IntegrityError), transaction.atomic():
        Notebook.objects.create(space=notebook.space, owner=ada, name="Again", onboarding_key=NOTEBOOK_KEY)


def test_a_second_document_with_one_key_in_a_notebook_is_refused(ada):
    document = Document.objects.filter(notebook__owner=ada).first()

    with pytest.raises(IntegrityError), transaction.atomic():
        Document.objects.create(
            notebook=document.notebook,
            name="A copy.txt",
            content="copy",
            size_bytes=4,
            onboarding_key=document.onboarding_key,
        )


def test_the_same_key_in_another_notebook_is_fine(ada, make_user):
    other = make_user()
    onboard_user(user=other, trigger="login")

    def keys(user) -> set[str]:
        return set(Document.objects.filter(notebook__owner=user).values_list("onboarding_key", flat=True))

    assert keys(ada) == keys(other) and len(keys(ada)) == 3


def test_the_models_and_the_migrations_agree():
    out = StringIO()

    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)

    assert "No changes detected" in out.getvalue()
