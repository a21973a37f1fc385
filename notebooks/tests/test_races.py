"""Requests racing the deletion of what they write to, on two real connections, interleaved by the
test: the loser answers 404 (or, for an agent's knowledge, 400 naming the notebook), never a 500, and
nothing deleted comes back."""

import pytest

from aether.tests.concurrency import Call, Held, after, wait_until_blocked
from notebooks import selectors, services
from notebooks.models import Agent, Document, Notebook

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def notebook(ada) -> Notebook:
    return Notebook.objects.get(owner=ada)


@pytest.fixture
def document(notebook) -> Document:
    return Document.objects.filter(notebook=notebook).first()


def delete_notebook(pk) -> callable:
    return lambda: Notebook.objects.get(pk=pk).delete()


def test_deleting_a_document_whose_notebook_was_deleted_after_it_was_read_answers_404(
    session_api_client, ada, notebook, document, monkeypatch
):
    after(monkeypatch, selectors, "document_in_space", delete_notebook(notebook.pk))

    response = session_api_client(ada).delete(f"/api/v1/documents/{document.pk}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert not Notebook.objects.filter(pk=notebook.pk).exists()


def test_renaming_a_document_whose_notebook_was_deleted_after_it_was_read_answers_404(
    session_api_client, ada, notebook, document, monkeypatch
):
    after(monkeypatch, selectors, "document_in_space", delete_notebook(notebook.pk))

    response = session_api_client(ada).patch(
        f"/api/v1/documents/{document.pk}", {"name": "Renamed.txt"}, format="json"
    )

    assert response.status_code == 404
    assert not Document.objects.filter(pk=document.pk).exists()


def test_renaming_a_document_deleted_after_it_was_read_answers_404(
    session_api_client, ada, document, monkeypatch
):
    after(
        monkeypatch, selectors, "document_in_space", lambda: Document.objects.filter(pk=document.pk).delete()
    )

    response = session_api_client(ada).patch(
        f"/api/v1/documents/{document.pk}", {"name": "Renamed.txt"}, format="json"
    )

    assert response.status_code == 404
    assert not Document.objects.filter(pk=document.pk).exists()


def test_adding_a_document_to_a_notebook_deleted_after_it_was_read_answers_404(
    session_api_client, ada, notebook, monkeypatch
):
    after(monkeypatch, selectors, "notebook_in_space", delete_notebook(notebook.pk))

    response = session_api_client(ada).post(
        f"/api/v1/notebooks/{notebook.pk}/documents", {"name": "late.txt", "content": "hi"}, format="json"
    )

    assert response.status_code == 404
    assert not Document.objects.filter(name="late.txt").exists()


def test_a_notebook_deleted_after_it_was_read_is_not_brought_back_by_an_edit(
    session_api_client, ada, notebook, monkeypatch
):
    after(monkeypatch, selectors, "notebook_in_space", delete_notebook(notebook.pk))

    response = session_api_client(ada).patch(
        f"/api/v1/notebooks/{notebook.pk}", {"description": "edited"}, format="json"
    )

    assert response.status_code == 404
    assert not Notebook.objects.filter(pk=notebook.pk).exists()


def test_an_agent_deleted_after_it_was_read_is_not_brought_back_by_an_edit(
    session_api_client, ada, monkeypatch
):
    agent = Agent.objects.get(owner=ada)
    after(monkeypatch, selectors, "agent_in_space", lambda: Agent.objects.filter(pk=agent.pk).delete())

    response = session_api_client(ada).patch(
        f"/api/v1/agents/{agent.pk}", {"temperature": 0.2}, format="json"
    )

    assert response.status_code == 404
    assert not Agent.objects.filter(pk=agent.pk).exists()


def test_an_agent_deleted_twice_at_once_is_deleted_once(session_api_client, ada, monkeypatch):
    agent = Agent.objects.get(owner=ada)
    after(
        monkeypatch,
        selectors,
        "agent_in_space",
        lambda: services.agent_delete(agent=Agent.objects.get(pk=agent.pk)),
    )

    response = session_api_client(ada).delete(f"/api/v1/agents/{agent.pk}")

    assert response.status_code == 404
    assert not Agent.objects.filter(pk=agent.pk).exists()


def test_knowledge_deleted_after_it_was_read_is_refused_by_name(
    session_api_client, ada, notebook, monkeypatch
):
    after(monkeypatch, selectors, "notebooks_with_ids", delete_notebook(notebook.pk))

    response = session_api_client(ada).post(
        "/api/v1/agents",
        {"name": "Reader", "type": "qa", "model": "gpt-4", "notebook_ids": [str(notebook.pk)]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"notebook_ids": [f"No notebook {notebook.pk} in this space."]}
    assert not Agent.objects.filter(name="Reader").exists()


def test_a_document_added_while_its_notebook_is_being_deleted_waits_and_answers_404(
    session_api_client, ada, notebook
):
    # The notebook's deletion holds its row, uncommitted, while the upload arrives.
    deletion = Held(lambda: services.notebook_delete(notebook=Notebook.objects.get(pk=notebook.pk)))
    client = session_api_client(ada)
    upload = Call(
        lambda: client.post(
            f"/api/v1/notebooks/{notebook.pk}/documents", {"name": "late.txt", "content": "hi"}, format="json"
        )
    )
    wait_until_blocked()
    deletion.commit()

    assert upload.join().status_code == 404
    assert not Document.objects.filter(notebook_id=notebook.pk).exists()


def test_a_notebook_deleted_while_a_document_is_being_added_takes_the_document_with_it(
    session_api_client, ada, notebook
):
    # The upload holds the notebook, uncommitted, while the deletion arrives.
    upload = Held(
        lambda: services.document_create(
            notebook=Notebook.objects.get(pk=notebook.pk), name="new.txt", data="hi"
        )
    )
    client = session_api_client(ada)
    deletion = Call(lambda: client.delete(f"/api/v1/notebooks/{notebook.pk}"))
    wait_until_blocked()
    upload.commit()

    assert deletion.join().status_code == 204
    assert not Notebook.objects.filter(pk=notebook.pk).exists()
    assert not Document.objects.filter(pk=upload.result.pk).exists()


def test_the_delete_page_of_a_document_whose_notebook_was_deleted_meanwhile_is_a_404_page(
    client, ada, notebook, document, monkeypatch
):
    from notebooks.views import documents as document_pages

    after(monkeypatch, document_pages, "document_or_404", delete_notebook(notebook.pk))
    client.force_login(ada)

    response = client.post(f"/documents/{document.pk}/delete/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert not Notebook.objects.filter(pk=notebook.pk).exists()
