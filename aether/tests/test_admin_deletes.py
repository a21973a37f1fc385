"""Deletes in the admin racing a member's write under what they delete, on two real connections: the
delete waits for the write, then takes its row with it; never a foreign key violation (a 500), and
nothing is left behind under a deleted parent."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Space
from aether.tests.concurrency import Call, Held, wait_until_blocked
from notebooks.models import Document, Notebook
from notebooks.services import document_create, notebook_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user(email="root@example.com", is_staff=True, is_superuser=True))
    return client


def delete_while_a_document_is_added(notebook: Notebook, delete: callable):
    """Add a document to ``notebook`` in a transaction kept open until ``delete`` waits for it."""
    adding = Held(lambda: document_create(notebook=notebook, name="late.txt", data="written meanwhile"))
    deleting = Call(delete)
    wait_until_blocked()
    adding.commit()
    return deleting.join()


def test_deleting_a_space_while_a_document_is_added_to_one_of_its_notebooks_deletes_it_too(
    staff_client, ada, acme
):
    notebook = notebook_create(space=acme, owner=ada, name="Plans")

    response = delete_while_a_document_is_added(
        notebook,
        lambda: staff_client.post(reverse("admin:accounts_space_delete", args=[acme.pk]), {"post": "yes"}),
    )

    assert response.status_code == 302
    assert not Space.objects.filter(pk=acme.pk).exists()
    assert not Notebook.objects.filter(pk=notebook.pk).exists()
    assert not Document.objects.filter(name="late.txt").exists()


def test_deleting_selected_notebooks_while_a_document_is_added_to_one_deletes_it_too(staff_client, ada):
    notebook = Notebook.objects.get(owner=ada)
    changelist = reverse("admin:notebooks_notebook_changelist")

    response = delete_while_a_document_is_added(
        notebook,
        lambda: staff_client.post(
            changelist, {"action": "delete_selected", "_selected_action": [str(notebook.pk)], "post": "yes"}
        ),
    )

    assert response.status_code == 302
    assert not Notebook.objects.filter(pk=notebook.pk).exists()
    assert not Document.objects.filter(name="late.txt").exists()
