"""Oversized uploads are refused while the request is read: nothing past the limit is stored."""

import pytest
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from notebooks.models import Document
from notebooks.uploads import UPLOAD_ENVELOPE_BYTES, DocumentSizeLimitHandler
from onboarding.selectors import onboarding_notebook_of

pytestmark = pytest.mark.django_db

LIMIT = 1000
OVERSIZED = LIMIT + UPLOAD_ENVELOPE_BYTES + 1


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


def _oversized_file() -> SimpleUploadedFile:
    return SimpleUploadedFile("big.txt", b"x" * OVERSIZED, content_type="text/plain")


def test_the_api_refuses_an_oversized_upload_before_storing_any_of_it(api_client, ada, storing):
    notebook = onboarding_notebook_of(ada)

    response = api_client(ada).post(
        f"/api/v1/notebooks/{notebook.pk}/documents", {"file": _oversized_file()}, format="multipart"
    )

    assert response.status_code == 413
    assert response.json()["detail"].startswith("The request is ")
    assert response.json()["detail"].endswith("documents may be at most 1000 bytes.")
    assert storing.received == []
    assert not Document.objects.filter(name="big.txt").exists()


def test_the_upload_page_answers_413_before_storing_any_of_it(client, ada, storing):
    notebook = onboarding_notebook_of(ada)
    client.force_login(ada)

    response = client.post(
        f"/notebooks/{notebook.pk}/documents/",
        {"file": _oversized_file()},
        HTTP_REFERER=f"http://testserver/notebooks/{notebook.pk}/",
    )

    assert response.status_code == 413
    page = response.content.decode()
    assert "Documents may be at most 1000\xa0bytes. Nothing was uploaded." in page
    assert f'href="http://testserver/notebooks/{notebook.pk}/"' in page
    assert storing.received == []
    assert not Document.objects.filter(name="big.txt").exists()


def test_an_upload_within_the_limit_reaches_storage(client, ada, storing):
    notebook = onboarding_notebook_of(ada)
    client.force_login(ada)
    upload = SimpleUploadedFile("small.txt", b"x" * LIMIT, content_type="text/plain")

    response = client.post(f"/notebooks/{notebook.pk}/documents/", {"file": upload})

    assert response.status_code == 302
    assert sum(storing.received) == LIMIT
    assert Document.objects.get(name="small.txt").size_bytes == LIMIT


def test_the_handler_stops_once_the_bytes_received_pass_the_limit(settings):
    """A request whose length was not declared is cut off by counting what arrives."""
    settings.DOCUMENT_MAX_BYTES = LIMIT
    handler = DocumentSizeLimitHandler()
    handler.handle_raw_input(None, {}, None, b"boundary")
    chunk = b"x" * 1024

    passed = [handler.receive_data_chunk(chunk, start) for start in range(0, OVERSIZED - 1024, 1024)]

    assert all(data == chunk for data in passed)
    with pytest.raises(RequestDataTooBig):
        handler.receive_data_chunk(chunk, len(passed) * 1024)
