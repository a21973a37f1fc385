"""The document and agent admin keep the rules the notebook services keep."""

import pytest
from django.test import Client
from django.urls import reverse

from aether.tests.admin_forms import form_data
from notebooks.models import Agent, Document, Notebook
from notebooks.services import notebook_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user(email="root@example.com", is_staff=True, is_superuser=True))
    return client


def test_a_document_is_inspected_not_edited_and_none_is_added_empty(staff_client, ada):
    document = Document.objects.filter(notebook__owner=ada).first()
    notebook = document.notebook

    page = staff_client.get(reverse("admin:notebooks_document_change", args=[document.pk])).content.decode()
    add = staff_client.get(reverse("admin:notebooks_document_add"))
    notebook_page = staff_client.get(reverse("admin:notebooks_notebook_change", args=[notebook.pk]))

    assert 'name="content"' not in page
    assert 'name="size_bytes"' not in page
    assert document.content.splitlines()[0] in page  # shown, read-only
    assert add.status_code == 403
    # The inline offers no blank row to add one (Django renders its template row only when adding is allowed).
    assert 'id="documents-empty"' not in notebook_page.content.decode()
    assert 'id="documents-0"' in notebook_page.content.decode()


def test_an_agents_knowledge_notebooks_must_be_in_its_space(staff_client, ada, acme):
    agent = Agent.objects.get(owner=ada)
    elsewhere = notebook_create(space=acme, owner=ada, name="Acme notes")
    url = reverse("admin:notebooks_agent_change", args=[agent.pk])
    data = form_data(staff_client.get(url).content.decode())

    response = staff_client.post(url, {**data, "knowledge_notebooks": [str(elsewhere.pk)]})

    assert response.status_code == 200
    assert "Knowledge notebooks must be in the agent&#x27;s space." in response.content.decode()
    assert list(agent.knowledge_notebooks.all()) == [Notebook.objects.get(owner=ada, space=agent.space)]
