"""The notebook, document and agent pages, through Django's test client."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Membership
from accounts.selectors import personal_space_of
from accounts.services import membership_add, space_create_organization
from notebooks.models import Document, Notebook
from notebooks.services import document_create, notebook_create
from onboarding.selectors import onboarding_agent_of, onboarding_notebook_of

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


def upload(client, notebook, filename, data, content_type="text/plain", **fields):
    file = SimpleUploadedFile(filename, data, content_type=content_type)
    return client.post(f"/notebooks/{notebook.pk}/documents/", {"file": file, **fields})


def test_creating_a_notebook_shows_it_with_its_tags(signed_in, ada):
    space = personal_space_of(ada)

    response = signed_in.post(
        f"/spaces/{space.pk}/notebooks/new/",
        {"name": "Research", "description": "Papers", "tags": "ml, papers,, ", "visibility": "private"},
        follow=True,
    )

    notebook = Notebook.objects.get(name="Research")
    assert response.redirect_chain[-1][0] == f"/notebooks/{notebook.pk}/"
    assert notebook.tags == ["ml", "papers"]
    assert "Notebook “Research” created." in response.content.decode()
    assert (
        "<title>Research · Ada Lovelace&#x27;s Personal Space · Aether</title>" in response.content.decode()
    )


def test_a_notebook_without_a_name_is_refused_next_to_the_field(signed_in, ada):
    space = personal_space_of(ada)

    response = signed_in.post(f"/spaces/{space.pk}/notebooks/new/", {"name": "  ", "visibility": "private"})

    assert response.status_code == 400
    assert 'id="id_name_error"' in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Notebook.objects.filter(space=space).exclude(onboarding_key="onboarding").exists()


def test_uploading_a_text_file_adds_a_document(signed_in, ada):
    notebook = onboarding_notebook_of(ada)

    response = upload(signed_in, notebook, "notes.md", b"# Notes\nfirst", content_type="text/markdown")

    assert response.status_code == 302
    document = Document.objects.get(notebook=notebook, name="notes.md")
    assert (document.mime_type, document.content) == ("text/markdown", "# Notes\nfirst")
    page = signed_in.get(f"/notebooks/{notebook.pk}/").content.decode()
    assert "notes.md" in page


def test_an_upload_without_a_browser_type_takes_the_type_of_its_extension(signed_in, ada):
    notebook = onboarding_notebook_of(ada)

    upload(signed_in, notebook, "table.csv", b"a,b\n1,2\n", content_type="application/octet-stream")

    assert Document.objects.get(name="table.csv").mime_type == "text/csv"


def test_an_upload_may_be_renamed(signed_in, ada):
    notebook = onboarding_notebook_of(ada)

    upload(signed_in, notebook, "x.txt", b"text", name="Meeting notes")

    assert Document.objects.filter(notebook=notebook, name="Meeting notes").exists()


def test_a_file_over_the_size_limit_is_refused_next_to_the_field(signed_in, ada, settings):
    settings.DOCUMENT_MAX_BYTES = 10
    notebook = onboarding_notebook_of(ada)

    response = upload(signed_in, notebook, "big.txt", b"x" * 11)

    assert response.status_code == 413
    page = response.content.decode()
    assert '<ul class="errorlist" id="id_file_error"><li>The file is 11 bytes; the limit is 10 bytes.' in page
    assert not Document.objects.filter(name="big.txt").exists()


@pytest.mark.parametrize(
    ("name", "data", "content_type", "message"),
    [
        ("photo.png", b"\x89PNG\r\n", "image/png", "Documents must be text"),
        ("latin1.txt", "caf\u00e9".encode("latin-1"), "text/plain", "The document is not UTF-8 text."),
    ],
)
def test_a_file_that_is_not_utf8_text_is_refused_next_to_the_field(
    signed_in, ada, name, data, content_type, message
):
    notebook = onboarding_notebook_of(ada)

    response = upload(signed_in, notebook, name, data, content_type=content_type)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Document.objects.filter(name=name).exists()


def test_an_upload_without_a_file_says_so(signed_in, ada):
    notebook = onboarding_notebook_of(ada)

    response = signed_in.post(f"/notebooks/{notebook.pk}/documents/", {})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_renaming_a_notebook(signed_in, ada):
    notebook = onboarding_notebook_of(ada)
    form = signed_in.get(f"/notebooks/{notebook.pk}/edit/").content.decode()
    assert 'value="Getting Started"' in form
    assert 'value="welcome, getting-started, onboarding"' in form

    signed_in.post(
        f"/notebooks/{notebook.pk}/edit/",
        {"name": "My first notebook", "description": "", "tags": "welcome", "visibility": "shared"},
    )

    notebook.refresh_from_db()
    assert (notebook.name, notebook.tags, notebook.visibility) == ("My first notebook", ["welcome"], "shared")


def test_deleting_a_notebook_asks_first_then_deletes_it(signed_in, ada):
    notebook = onboarding_notebook_of(ada)

    confirmation = signed_in.get(f"/notebooks/{notebook.pk}/delete/").content.decode()
    assert "Its 3 documents will be deleted too. This cannot be undone." in confirmation
    assert Notebook.objects.filter(pk=notebook.pk).exists()

    response = signed_in.post(f"/notebooks/{notebook.pk}/delete/", follow=True)

    assert not Notebook.objects.filter(pk=notebook.pk).exists()
    assert "Notebook “Getting Started” deleted." in response.content.decode()


def test_deleting_a_document_asks_first_then_deletes_it(signed_in, ada):
    document = Document.objects.get(name="Sample FAQ.txt")

    assert "This cannot be undone." in signed_in.get(f"/documents/{document.pk}/delete/").content.decode()
    signed_in.post(f"/documents/{document.pk}/delete/")

    assert not Document.objects.filter(pk=document.pk).exists()


def test_the_document_page_shows_the_text_and_its_metadata(signed_in, ada):
    document = Document.objects.get(name="Welcome to Aether.txt")

    page = signed_in.get(f"/documents/{document.pk}/").content.decode()

    assert '<pre class="document-text" tabindex="0">' in page
    assert document.content.splitlines()[0] in page
    assert "<dt>Origin</dt><dd>A sample guide, added when your workspace was set up</dd>" in page
    assert "<dt>Reading order</dt><dd>1</dd>" in page
    assert "is_sample" not in page
    assert "<title>Welcome to Aether.txt · Getting Started · Aether</title>" in page


def test_the_agent_page_shows_its_settings_and_knowledge(signed_in, ada):
    agent = onboarding_agent_of(ada)

    page = signed_in.get(f"/agents/{agent.pk}/").content.decode()

    for text in ("Question answering", "gpt-4", "0.7", "2000", "personal-assistant"):
        assert text in page
    assert f'<a href="/notebooks/{onboarding_notebook_of(ada).pk}/">Getting Started</a>' in page


def test_pages_of_a_space_the_user_is_not_in_are_not_found(client, make_user, ada):
    stranger = make_user()
    client.force_login(stranger)
    notebook = onboarding_notebook_of(ada)
    document = notebook.documents.first()
    agent = onboarding_agent_of(ada)

    for url in (
        f"/notebooks/{notebook.pk}/",
        f"/notebooks/{notebook.pk}/edit/",
        f"/notebooks/{notebook.pk}/delete/",
        f"/documents/{document.pk}/",
        f"/documents/{document.pk}/delete/",
        f"/agents/{agent.pk}/",
        f"/spaces/{notebook.space_id}/",
        f"/spaces/{notebook.space_id}/notebooks/new/",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/notebooks/{notebook.pk}/edit/",
        f"/notebooks/{notebook.pk}/delete/",
        f"/documents/{document.pk}/delete/",
        f"/spaces/{notebook.space_id}/notebooks/new/",
    ):
        assert client.post(url, {"name": "Taken over", "visibility": "private"}).status_code == 404, url
    file = SimpleUploadedFile("planted.txt", b"planted", content_type="text/plain")
    assert client.post(f"/notebooks/{notebook.pk}/documents/", {"file": file}).status_code == 404
    notebook.refresh_from_db()
    assert notebook.name == "Getting Started"
    assert Document.objects.filter(pk=document.pk).exists()
    assert not Document.objects.filter(name="planted.txt").exists()
    assert not Notebook.objects.filter(name="Taken over").exists()


def test_a_viewer_reads_but_cannot_change_anything(client, make_user, ada):
    organization = space_create_organization(owner=ada, name="Acme")
    notebook = notebook_create(space=organization, owner=ada, name="Plans")
    document = document_create(notebook=notebook, name="plan.txt", data="step one")
    viewer = make_user()
    membership_add(space=organization, user=viewer, role=Membership.Role.VIEWER)
    client.force_login(viewer)

    page = client.get(f"/notebooks/{notebook.pk}/").content.decode()
    assert "plan.txt" in page
    assert "Upload a document" not in page
    assert "Delete" not in page

    assert client.get(f"/notebooks/{notebook.pk}/edit/").status_code == 403
    assert client.post(f"/notebooks/{notebook.pk}/delete/").status_code == 403
    assert client.post(f"/documents/{document.pk}/delete/").status_code == 403
    assert client.post(f"/spaces/{organization.pk}/notebooks/new/", {"name": "x"}).status_code == 403
    file = SimpleUploadedFile("a.txt", b"a", content_type="text/plain")
    assert client.post(f"/notebooks/{notebook.pk}/documents/", {"file": file}).status_code == 403
    assert list(notebook.documents.values_list("name", flat=True)) == ["plan.txt"]


def test_pages_need_a_signed_in_user(client, ada):
    notebook = onboarding_notebook_of(ada)

    response = client.get(f"/notebooks/{notebook.pk}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/?next=")


def test_user_text_is_escaped_on_every_page(signed_in, ada):
    space = personal_space_of(ada)
    notebook = notebook_create(space=space, owner=ada, name=XSS, description=XSS, tags=[XSS])
    document = document_create(notebook=notebook, name=XSS, data=XSS)
    agent = onboarding_agent_of(ada)
    agent.knowledge_notebooks.add(notebook)

    for url in (
        "/",
        f"/notebooks/{notebook.pk}/",
        f"/notebooks/{notebook.pk}/edit/",
        f"/notebooks/{notebook.pk}/delete/",
        f"/documents/{document.pk}/",
        f"/documents/{document.pk}/delete/",
        f"/agents/{agent.pk}/",
    ):
        page = signed_in.get(url).content.decode()
        assert XSS not in page, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url


def test_a_description_over_10000_characters_is_refused_next_to_the_field(signed_in, ada):
    space = personal_space_of(ada)

    response = signed_in.post(
        f"/spaces/{space.pk}/notebooks/new/",
        {"name": "Long", "description": "x" * 10_001, "visibility": "private"},
    )

    assert 'id="id_description_error"' in response.content.decode()
    assert not Notebook.objects.filter(name="Long").exists()


@pytest.mark.urls("notebooks.tests.urls_elsewhere")
def test_object_links_follow_the_url_configuration(ada):
    notebook = onboarding_notebook_of(ada)
    document = notebook.documents.first()
    agent = onboarding_agent_of(ada)

    assert notebook.get_absolute_url() == f"/elsewhere/notebooks/{notebook.pk}/"
    assert document.get_absolute_url() == f"/elsewhere/documents/{document.pk}/"
    assert agent.get_absolute_url() == f"/elsewhere/agents/{agent.pk}/"


def test_a_refused_edit_keeps_the_stored_name_in_the_title_and_breadcrumbs(signed_in, ada):
    notebook = onboarding_notebook_of(ada)
    too_many_tags = ", ".join(f"tag{number}" for number in range(21))

    response = signed_in.post(
        f"/notebooks/{notebook.pk}/edit/",
        {"name": "Renamed", "tags": too_many_tags, "visibility": "private"},
    )

    page = response.content.decode()
    assert "At most 20 tags are allowed." in page
    assert "<title>Edit Getting Started ·" in page
    assert f'\u203a <a href="/notebooks/{notebook.pk}/">Getting Started</a></nav>' in page
    assert 'value="Renamed"' in page
    notebook.refresh_from_db()
    assert notebook.name == "Getting Started"


def test_renaming_a_document_keeps_its_text(signed_in, ada):
    document = Document.objects.get(name="Sample FAQ.txt")
    text = document.content
    form = signed_in.get(f"/documents/{document.pk}/rename/").content.decode()
    assert 'value="Sample FAQ.txt"' in form

    response = signed_in.post(f"/documents/{document.pk}/rename/", {"name": " Questions.txt "}, follow=True)

    document.refresh_from_db()
    assert (document.name, document.content) == ("Questions.txt", text)
    assert response.redirect_chain[-1][0] == f"/documents/{document.pk}/"
    assert "Document renamed to “Questions.txt”." in response.content.decode()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("  ", "This field is required."),
        ("x" * 256, "Ensure this value has at most 255 characters (it has 256)."),
        ("evil\u202etxt.exe", "Names cannot contain control characters"),
    ],
)
def test_a_refused_rename_says_why_and_keeps_what_was_typed(signed_in, ada, name, message):
    document = Document.objects.get(name="Sample FAQ.txt")

    response = signed_in.post(f"/documents/{document.pk}/rename/", {"name": name})

    assert response.status_code == 400
    page = response.content.decode()
    assert f'<ul class="errorlist" id="id_name_error"><li>{message}' in page
    assert "<title>Rename Sample FAQ.txt ·" in page
    if name.strip():
        assert f'value="{name}"' in page
    document.refresh_from_db()
    assert document.name == "Sample FAQ.txt"


def test_a_viewer_cannot_rename_and_an_outsider_finds_nothing(client, make_user, ada):
    organization = space_create_organization(owner=ada, name="Acme")
    document = document_create(
        notebook=notebook_create(space=organization, owner=ada, name="Plans"), name="a.txt", data="a"
    )
    viewer, stranger = make_user(), make_user()
    membership_add(space=organization, user=viewer, role=Membership.Role.VIEWER)

    client.force_login(viewer)
    page = client.get(f"/documents/{document.pk}/").content.decode()
    viewer_answer = client.post(f"/documents/{document.pk}/rename/", {"name": "b.txt"})
    client.force_login(stranger)
    stranger_answer = client.post(f"/documents/{document.pk}/rename/", {"name": "b.txt"})

    assert "Rename" not in page
    assert (viewer_answer.status_code, stranger_answer.status_code) == (403, 404)
    document.refresh_from_db()
    assert document.name == "a.txt"


def test_the_document_page_shows_other_metadata_with_readable_labels(signed_in, ada):
    notebook = onboarding_notebook_of(ada)
    document = document_create(
        notebook=notebook,
        name="m.txt",
        data="m",
        metadata={"reviewed_by": "Grace", "final": False, "pages": [1, 2]},
    )

    page = signed_in.get(f"/documents/{document.pk}/").content.decode()

    assert "<dt>Reviewed by</dt><dd>Grace</dd>" in page
    assert "<dt>Final</dt><dd>No</dd>" in page
    assert "<dt>Pages</dt><dd>[1, 2]</dd>" in page
    assert "<dt>Size</dt><dd>1 byte</dd>" in page
