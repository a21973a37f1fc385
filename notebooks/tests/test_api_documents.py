import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership
from accounts.services import membership_add, space_create_organization
from notebooks.models import Document, Notebook
from notebooks.services import document_create, notebook_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def notebook(ada):
    return notebook_create(space=ada.owned_spaces.get(type="personal"), owner=ada, name="Plans")


def test_json_upload_then_read_list_rename_and_delete(api_client, ada, notebook):
    client = api_client(ada)
    url = f"/api/v1/notebooks/{notebook.pk}/documents"

    created = client.post(
        url,
        {"name": "notes.md", "content": "# Plans\nShip it.\n", "mime_type": "text/markdown"},
        format="json",
    )
    assert created.status_code == 201, created.content
    document = created.json()
    assert set(document) == {"id", "notebook_id", "name", "mime_type", "size_bytes", "metadata", "created_at"}
    assert (document["name"], document["mime_type"], document["size_bytes"]) == (
        "notes.md",
        "text/markdown",
        17,
    )
    assert document["notebook_id"] == str(notebook.pk)

    listed = client.get(url).json()
    assert [d["name"] for d in listed["results"]] == ["notes.md"]

    content = client.get(f"/api/v1/documents/{document['id']}/content")
    assert content.status_code == 200
    assert content["Content-Type"] == "text/markdown; charset=utf-8"
    assert content.content.decode() == "# Plans\nShip it.\n"

    renamed = client.patch(
        f"/api/v1/documents/{document['id']}", {"name": "plans.md", "metadata": {"k": 1}}, format="json"
    )
    assert (renamed.json()["name"], renamed.json()["metadata"]) == ("plans.md", {"k": 1})

    assert client.delete(f"/api/v1/documents/{document['id']}").status_code == 204
    assert client.get(f"/api/v1/documents/{document['id']}").status_code == 404
    assert not Document.objects.filter(notebook=notebook).exists()


def test_multipart_upload_takes_the_file_name_and_type(api_client, ada, notebook):
    upload = SimpleUploadedFile("faq.txt", b"Q: Why?\nA: Because.\n", content_type="text/plain")

    response = api_client(ada).post(
        f"/api/v1/notebooks/{notebook.pk}/documents", {"file": upload}, format="multipart"
    )

    assert response.status_code == 201, response.content
    assert (response.json()["name"], response.json()["mime_type"]) == ("faq.txt", "text/plain")
    assert Document.objects.get(notebook=notebook).content == "Q: Why?\nA: Because.\n"


def test_the_onboarding_documents_are_listed_and_readable(api_client, ada):
    client = api_client(ada)
    notebook = client.get("/api/v1/notebooks/search?query=Getting%20Started").json()["results"][0]

    documents = client.get(f"/api/v1/notebooks/{notebook['id']}/documents").json()["results"]
    assert [d["name"] for d in documents] == [
        "Welcome to Aether.txt",
        "Quick Start Guide.txt",
        "Sample FAQ.txt",
    ]
    assert documents[0]["metadata"] == {"source": "onboarding", "is_sample": True, "order": 1}
    text = client.get(f"/api/v1/documents/{documents[0]['id']}/content").content.decode()
    assert "Aether" in text


def test_documents_over_the_limit_answer_413(api_client, ada, notebook, settings):
    settings.DOCUMENT_MAX_BYTES = 10
    client = api_client(ada)
    url = f"/api/v1/notebooks/{notebook.pk}/documents"

    as_json = client.post(url, {"name": "big.txt", "content": "x" * 11}, format="json")
    as_file = client.post(
        url, {"file": SimpleUploadedFile("big.txt", b"x" * 11, content_type="text/plain")}, format="multipart"
    )

    assert (as_json.status_code, as_file.status_code) == (413, 413)
    assert as_json.json()["detail"] == "The document is 11 bytes; the limit is 10 bytes."
    assert "limit is 10 bytes" in as_file.json()["detail"]
    assert client.post(url, {"name": "ok.txt", "content": "x" * 10}, format="json").status_code == 201
    assert Document.objects.filter(notebook=notebook).count() == 1


def test_an_oversized_body_is_refused_from_its_declared_length(api_client, ada, notebook, settings):
    settings.DOCUMENT_MAX_BYTES = 10
    upload = SimpleUploadedFile("big.txt", b"x" * 200_000, content_type="text/plain")

    response = api_client(ada).post(
        f"/api/v1/notebooks/{notebook.pk}/documents", {"file": upload}, format="multipart"
    )

    assert response.status_code == 413
    assert response.json()["detail"].startswith("The upload is 200,")
    assert response.json()["detail"].endswith(" bytes; documents may be at most 10 bytes.")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "a.png", "content": "x", "mime_type": "image/png"}, "file"),
        ({"content": "no name"}, "name"),
        ({"name": "empty"}, "detail"),
        ({"name": "nul.txt", "content": "a\x00b"}, "content"),
        ({"name": "meta.txt", "content": "x", "metadata": {"k": "\x00"}}, "metadata"),
    ],
)
def test_unfit_documents_answer_field_errors(api_client, ada, notebook, payload, field):
    response = api_client(ada).post(f"/api/v1/notebooks/{notebook.pk}/documents", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Document.objects.filter(notebook=notebook).exists()


def test_binary_uploads_are_refused(api_client, ada, notebook):
    upload = SimpleUploadedFile("blob.txt", b"\xff\xfe\x00", content_type="text/plain")
    response = api_client(ada).post(
        f"/api/v1/notebooks/{notebook.pk}/documents", {"file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert "UTF-8" in response.json()["file"][0]


def test_html_content_is_served_sandboxed(api_client, ada, notebook):
    document = document_create(
        notebook=notebook, name="page.html", data="<script>alert(1)</script>", mime_type="text/html"
    )
    response = api_client(ada).get(f"/api/v1/documents/{document.pk}/content")
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_viewer_reads_documents_but_cannot_upload_or_change_them(api_client, ada, make_user):
    acme = space_create_organization(owner=ada, name="Acme")
    notebook = notebook_create(space=acme, owner=ada, name="Acme plans")
    document = document_create(notebook=notebook, name="a.txt", data="hello")
    viewer = make_user()
    membership_add(space=acme, user=viewer, role=Membership.Role.VIEWER)
    client = api_client(viewer)
    header = {"HTTP_X_SPACE_ID": str(acme.pk)}

    assert client.get(f"/api/v1/documents/{document.pk}/content", **header).content == b"hello"
    statuses = [
        client.post(
            f"/api/v1/notebooks/{notebook.pk}/documents",
            {"name": "b", "content": "b"},
            format="json",
            **header,
        ).status_code,
        client.patch(f"/api/v1/documents/{document.pk}", {"name": "b"}, format="json", **header).status_code,
        client.delete(f"/api/v1/documents/{document.pk}", **header).status_code,
    ]
    assert statuses == [403, 403, 403]
    assert list(Document.objects.filter(notebook=notebook).values_list("name", flat=True)) == ["a.txt"]


def test_listing_documents_costs_a_constant_number_of_queries(
    api_client, ada, notebook, django_assert_num_queries
):
    client = api_client(ada)
    url = f"/api/v1/notebooks/{notebook.pk}/documents"
    client.get(url)  # the first call of a bearer token signs in: not counted

    for number in range(5):
        document_create(notebook=notebook, name=f"{number}.txt", data="text " * 100)
    with CaptureQueriesContext(connection) as five:
        assert len(client.get(url).json()["results"]) == 5

    for number in range(5, 50):
        document_create(notebook=notebook, name=f"{number}.txt", data="text " * 100)
    with django_assert_num_queries(len(five)):
        assert len(client.get(url).json()["results"]) == 50
    assert len(five) <= 9


def test_documents_up_to_the_limit_pass_djangos_in_memory_limits(api_client, ada, notebook, settings):
    """DOCUMENT_MAX_BYTES decides, not Django's defaults (2.5 MiB bodies in memory, 2.5 MiB uploads in
    memory): a 3 MiB newline-heavy text is accepted as JSON (escaped, its body is larger) and as a file
    (spooled to a temporary file)."""
    text = "line of text\n" * (3 * 1024 * 1024 // 13)
    assert len(text) > 2_621_440 and len(text) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    client = api_client(ada)
    url = f"/api/v1/notebooks/{notebook.pk}/documents"

    as_json = client.post(url, {"name": "big.txt", "content": text}, format="json")
    upload = SimpleUploadedFile("big2.txt", text.encode(), content_type="text/plain")
    as_file = client.post(url, {"file": upload}, format="multipart")

    assert (as_json.status_code, as_file.status_code) == (201, 201)
    assert as_file.json()["size_bytes"] == len(text)
    assert Document.objects.get(pk=as_json.json()["id"]).content == text


def test_deeply_nested_metadata_answers_400(api_client, ada, notebook):
    document = document_create(notebook=notebook, name="a.txt", data="x")
    metadata: dict = {}
    for _ in range(500):
        metadata = {"k": metadata}
    client = api_client(ada)

    patched = client.patch(f"/api/v1/documents/{document.pk}", {"metadata": metadata}, format="json")
    created = client.post(
        f"/api/v1/notebooks/{notebook.pk}/documents",
        {"name": "b.txt", "content": "x", "metadata": metadata},
        format="json",
    )

    for response in (patched, created):
        assert response.status_code == 400
        assert response.json() == {"metadata": ["Metadata may be nested at most 10 levels deep."]}


def test_renaming_a_document_neither_reads_nor_writes_its_text(api_client, ada, notebook):
    document = document_create(notebook=notebook, name="big.txt", data="text\n" * 10_000)
    client = api_client(ada)
    client.get(f"/api/v1/documents/{document.pk}")  # sign-in and onboarding checks happen once, before
    before = Notebook.objects.get(pk=notebook.pk).updated_at

    with CaptureQueriesContext(connection) as queries:
        response = client.patch(
            f"/api/v1/documents/{document.pk}", {"name": "renamed.txt", "metadata": {"k": 1}}, format="json"
        )

    assert response.status_code == 200, response.content
    document_queries = [query["sql"] for query in queries if "notebooks_document" in query["sql"]]
    assert document_queries
    assert not [sql for sql in document_queries if '"content"' in sql], document_queries
    document.refresh_from_db()
    assert (document.name, document.metadata, document.content) == (
        "renamed.txt",
        {"k": 1},
        "text\n" * 10_000,
    )
    assert Notebook.objects.get(pk=notebook.pk).updated_at > before


def test_a_markdown_upload_is_accepted_under_any_of_its_names(api_client, ada, notebook, client):
    url = f"/api/v1/notebooks/{notebook.pk}/documents"
    upload = SimpleUploadedFile("a.md", b"# A\n", content_type="text/x-markdown")
    from_api = api_client(ada).post(url, {"file": upload}, format="multipart")
    client.force_login(ada)
    upload = SimpleUploadedFile("b.md", b"# B\n", content_type="text/x-markdown")
    from_page = client.post(f"/notebooks/{notebook.pk}/documents/", {"file": upload})

    assert (from_api.status_code, from_page.status_code) == (201, 302)
    assert set(Document.objects.filter(notebook=notebook).values_list("name", "mime_type")) == {
        ("a.md", "text/markdown"),
        ("b.md", "text/markdown"),
    }
