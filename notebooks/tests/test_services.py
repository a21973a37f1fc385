import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.services import space_create_organization
from notebooks.models import Document
from notebooks.services import (
    DocumentTooLarge,
    agent_create,
    agent_update,
    document_create,
    document_create_from_upload,
    document_delete,
    document_update,
    notebook_create,
    notebook_update,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def space(user):
    return space_create_organization(owner=user, name="Acme")


def test_notebooks_are_validated_before_saving(space, user):
    notebook = notebook_create(space=space, owner=user, name="  Plans ", tags=["q3"])
    assert notebook.name == "Plans"

    with pytest.raises(ValidationError) as caught:
        notebook_create(space=space, owner=user, name="", tags=["a", "a"], visibility="secret")
    assert set(caught.value.message_dict) == {"name", "tags", "visibility"}

    with pytest.raises(ValidationError) as caught:
        notebook_update(notebook=notebook, owner=None)
    assert "owner" in caught.value.message_dict


def test_documents_must_be_utf8_text_within_the_size_limit(space, user, settings):
    settings.DOCUMENT_MAX_BYTES = 10
    notebook = notebook_create(space=space, owner=user, name="Plans")
    before = notebook.updated_at

    document = document_create(
        notebook=notebook, name="a.txt", data=b"hello", mime_type="text/plain; charset=utf-8"
    )
    assert (document.content, document.size_bytes, document.mime_type) == ("hello", 5, "text/plain")
    notebook.refresh_from_db()
    assert notebook.updated_at > before

    with pytest.raises(DocumentTooLarge, match="11 bytes; the limit is 10 bytes"):
        document_create(notebook=notebook, name="b.txt", data=b"x" * 11)
    with pytest.raises(ValidationError, match="must be text"):
        document_create(notebook=notebook, name="c.png", data=b"\x89PNG", mime_type="image/png")
    with pytest.raises(ValidationError, match="not UTF-8"):
        document_create(notebook=notebook, name="d.txt", data=b"\xff\xfe")
    assert Document.objects.count() == 1

    document_delete(document=document)
    assert Document.objects.count() == 0


def test_agents_only_know_notebooks_of_their_own_space(space, user):
    other = space_create_organization(owner=user, name="Other")
    inside = notebook_create(space=space, owner=user, name="Inside")
    outside = notebook_create(space=other, owner=user, name="Outside")

    agent = agent_create(space=space, owner=user, notebook_ids=[inside.pk], name="Helper", type="qa")
    assert list(agent.knowledge_notebooks.all()) == [inside]

    with pytest.raises(ValidationError) as caught:
        agent_update(agent=agent, notebook_ids=[outside.pk])
    assert "notebook_ids" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        agent_create(space=space, owner=user, name="Bad", type="oracle", temperature=5)
    assert set(caught.value.message_dict) == {"type", "temperature"}


def _nested(levels: int) -> dict:
    metadata: dict = {}
    for _ in range(levels - 1):
        metadata = {"k": metadata}
    return metadata


def test_document_metadata_is_bounded_in_depth_and_size(space, user):
    notebook = notebook_create(space=space, owner=user, name="Plans")

    document = document_create(notebook=notebook, name="ok.txt", data="x", metadata=_nested(10))
    assert document.metadata == _nested(10)
    for metadata, message in [
        (_nested(11), "at most 10 levels"),
        (_nested(900), "at most 10 levels"),
        ({"list": [[["\x00"]]]}, "NUL"),
        ({"big": "x" * 16 * 1024}, "at most 16 KiB"),
    ]:
        with pytest.raises(ValidationError, match=message):
            document_create(notebook=notebook, name="bad.txt", data="x", metadata=metadata)
        with pytest.raises(ValidationError, match=message):
            document_update(document=document, metadata=metadata)


def test_free_text_fields_are_bounded_by_the_models(space, user):
    with pytest.raises(ValidationError) as caught:
        notebook_create(space=space, owner=user, name="Long", description="x" * 10_001)
    assert set(caught.value.message_dict) == {"description"}

    with pytest.raises(ValidationError) as caught:
        agent_create(
            space=space, owner=user, name="Long", description="x" * 10_001, system_prompt="x" * 32_001
        )
    assert set(caught.value.message_dict) == {"description", "system_prompt"}


@pytest.mark.parametrize(
    ("filename", "declared", "stored"),
    [
        ("notes.md", "text/x-markdown", "text/markdown"),
        ("notes.md", "application/octet-stream", "text/markdown"),
        ("table.csv", "", "text/csv"),
        ("data.xml", "text/xml; charset=utf-8", "application/xml"),
        ("README", "application/octet-stream", "text/plain"),
        ("notes.txt", "text/plain", "text/plain"),
    ],
)
def test_uploads_are_typed_from_what_the_client_declared_or_the_extension(
    space, user, filename, declared, stored
):
    notebook = notebook_create(space=space, owner=user, name="Plans")
    upload = SimpleUploadedFile(filename, b"# text\n", content_type=declared)

    document = document_create_from_upload(notebook=notebook, upload=upload)

    assert (document.name, document.mime_type, document.content) == (filename, stored, "# text\n")


def test_an_upload_declared_binary_is_refused_whatever_its_name(space, user):
    notebook = notebook_create(space=space, owner=user, name="Plans")
    upload = SimpleUploadedFile("photo.txt", b"\x89PNG", content_type="image/png")

    with pytest.raises(ValidationError, match="must be text"):
        document_create_from_upload(notebook=notebook, upload=upload, name="Renamed")


def test_agent_knowledge_is_resolved_in_the_agents_space(space, user, make_user):
    stranger = make_user()
    foreign = notebook_create(
        space=space_create_organization(owner=stranger, name="Theirs"), owner=stranger, name="Secret"
    )
    mine = notebook_create(space=space, owner=user, name="Mine")
    agent = agent_create(space=space, owner=user, name="Helper", notebook_ids=[str(mine.pk)])

    for notebook_ids in ([foreign.pk], ["00000000-0000-4000-8000-000000000000"], ["not-an-id"]):
        with pytest.raises(ValidationError) as caught:
            agent_update(agent=agent, notebook_ids=notebook_ids)
        assert caught.value.message_dict == {
            "notebook_ids": [f"No notebook {notebook_ids[0]} in this space."]
        }
        with pytest.raises(ValidationError):
            agent_create(space=space, owner=user, name="Spy", notebook_ids=notebook_ids)
    assert list(agent.knowledge_notebooks.all()) == [mine]
