"""Oversized uploads never reach storage past the limit, and are answered with their exact size."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from notebooks.models import Document
from notebooks.uploads import UPLOAD_ENVELOPE_BYTES, DocumentSizeLimitHandler, OversizedUpload
from onboarding.selectors import onboarding_notebook_of

pytestmark = pytest.mark.django_db

LIMIT = 1000
# Larger than a request holding a document that fits, small enough to be read and counted.
BEYOND_ENVELOPE = LIMIT + UPLOAD_ENVELOPE_BYTES + 1
# Larger than any request worth reading.
UNREADABLE = 2 * LIMIT + UPLOAD_ENVELOPE_BYTES + 1


class StoringHandler(FileUploadHandler):
    """Stands where Django's storing handlers stand and records the bytes that reach them."""

    received: list[int] = []

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        StoringHandler.received.append(len(raw_data))
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@pytest.fixture
def storing(settings):
    """Record what reaches Django's storing handlers, with the project's handlers in front of them."""
    settings.DOCUMENT_MAX_BYTES = LIMIT
    handlers = list(settings.FILE_UPLOAD_HANDLERS)
    position = handlers.index("django.core.files.uploadhandler.MemoryFileUploadHandler")
    handlers.insert(position, f"{__name__}.StoringHandler")
    settings.FILE_UPLOAD_HANDLERS = handlers
    StoringHandler.received = []
    return StoringHandler


def _file(size: int, name: str = "big.txt") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"x" * size, content_type="text/plain")


def test_the_api_counts_an_oversized_upload_without_storing_any_of_it(api_client, ada, storing):
    notebook = onboarding_notebook_of(ada)

    response = api_client(ada).post(
        f"/api/v1/notebooks/{notebook.pk}/documents", {"file": _file(BEYOND_ENVELOPE)}, format="multipart"
    )

    assert response.status_code == 413
    assert response.json()["detail"] == "The document is 66,537 bytes; the limit is 1,000 bytes."
    assert storing.received == []
    assert not Document.objects.filter(name="big.txt").exists()


def test_the_api_refuses_a_request_too_large_to_read(api_client, ada, storing):
    notebook = onboarding_notebook_of(ada)

    response = api_client(ada).post(
        f"/api/v1/notebooks/{notebook.pk}/documents", {"file": _file(UNREADABLE)}, format="multipart"
    )

    assert response.status_code == 413
    assert response.json()["detail"].startswith("The upload is 67,")
    assert response.json()["detail"].endswith(" bytes; documents may be at most 1,000 bytes.")
    assert storing.received == []


def test_the_upload_page_shows_the_exact_size_of_a_file_one_byte_over(client, ada, storing):
    notebook = onboarding_notebook_of(ada)
    client.force_login(ada)

    response = client.post(
        f"/notebooks/{notebook.pk}/documents/", {"file": _file(LIMIT + 1), "name": "Typed name"}
    )

    assert response.status_code == 413
    page = response.content.decode()
    assert (
        '<ul class="errorlist" id="id_file_error"><li>The file is 1,001 bytes; the limit is 1,000 bytes.'
        in page
    )
    assert 'value="Typed name"' in page  # what was typed stays
    assert sum(storing.received) <= LIMIT
    assert not Document.objects.filter(name="Typed name").exists()


def test_the_upload_page_stores_nothing_of_a_request_beyond_one_document(client, ada, storing):
    notebook = onboarding_notebook_of(ada)
    client.force_login(ada)

    response = client.post(f"/notebooks/{notebook.pk}/documents/", {"file": _file(BEYOND_ENVELOPE)})

    assert response.status_code == 413
    assert "The file is 66,537 bytes; the limit is 1,000 bytes." in response.content.decode()
    assert storing.received == []


@pytest.mark.parametrize("debug", [False, True])
def test_the_upload_page_answers_a_request_too_large_to_read_next_to_the_field(
    client, ada, storing, settings, debug
):
    """Under DJANGO_DEBUG too: Django would otherwise show its technical page for RequestDataTooBig."""
    settings.DEBUG = debug
    notebook = onboarding_notebook_of(ada)
    client.force_login(ada)

    response = client.post(f"/notebooks/{notebook.pk}/documents/", {"file": _file(UNREADABLE)})

    assert response.status_code == 413
    page = response.content.decode()
    assert '<ul class="errorlist" id="id_file_error"><li>The upload is 67,' in page
    assert " bytes; documents may be at most 1,000 bytes.</li></ul>" in page
    assert "<h1>Getting Started</h1>" in page
    assert storing.received == []


def test_an_upload_within_the_limit_reaches_storage(client, ada, storing):
    notebook = onboarding_notebook_of(ada)
    client.force_login(ada)

    response = client.post(f"/notebooks/{notebook.pk}/documents/", {"file": _file(LIMIT, "small.txt")})

    assert response.status_code == 302
    assert sum(storing.received) == LIMIT
    assert Document.objects.get(name="small.txt").size_bytes == LIMIT


def test_an_upload_without_its_csrf_token_is_refused(ada, storing):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(ada)
    notebook = onboarding_notebook_of(ada)

    response = client.post(f"/notebooks/{notebook.pk}/documents/", {"file": _file(10, "planted.txt")})

    assert response.status_code == 403
    assert not Document.objects.filter(name="planted.txt").exists()


def test_the_handler_counts_a_file_past_the_limit_and_passes_none_of_the_rest_on(settings):
    settings.DOCUMENT_MAX_BYTES = LIMIT
    handler = DocumentSizeLimitHandler()
    handler.handle_raw_input(None, {}, LIMIT + 5000, b"boundary")
    handler.new_file("file", "big.txt", "text/plain", None)
    chunk = b"x" * 600

    passed = [handler.receive_data_chunk(chunk, start) for start in range(0, 6000, 600)]
    oversized = handler.file_complete(6000)

    assert passed == [chunk] + [None] * 9
    assert isinstance(oversized, OversizedUpload)
    assert (oversized.name, oversized.size, oversized.read()) == ("big.txt", 6000, b"")
