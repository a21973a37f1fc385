"""Refuse document uploads over the size limit while the request is read, not after.

Django's own handlers stream a whole upload to memory or to a temporary file before any view could
look at its size; a view's check then comes too late to spare the disk or the time. This handler
runs first (``FILE_UPLOAD_HANDLERS``) for every multipart request, the web form's and the API's
alike (session-authenticated API calls parse the body already for the CSRF check), and raises
``RequestDataTooBig`` as soon as the declared length or the bytes received pass the limit.
Django answers it through ``handler400``, which ``aether.api_errors`` turns into a 413.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler

# Room for a multipart envelope (boundaries, part headers, the other fields) around the file.
UPLOAD_ENVELOPE_BYTES = 64 * 1024


class UploadTooLarge(RequestDataTooBig):
    """A multipart request larger than a document may be; its message says so to the user."""


def upload_max_bytes() -> int:
    """The largest multipart request worth reading: one document at the limit and its envelope."""
    return settings.DOCUMENT_MAX_BYTES + UPLOAD_ENVELOPE_BYTES


class DocumentSizeLimitHandler(FileUploadHandler):
    """Stop a multipart request once it is larger than a document may be; pass every chunk on otherwise."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None) -> None:
        self.limit = upload_max_bytes()
        self.received = 0
        if content_length and content_length > self.limit:
            raise UploadTooLarge(
                f"The request is {content_length} bytes; documents may be at most "
                f"{settings.DOCUMENT_MAX_BYTES} bytes."
            )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        # Counted over all the request's files: the limit is on what the request makes us store.
        self.received += len(raw_data)
        if self.received > self.limit:
            raise UploadTooLarge(
                f"The upload is larger than {settings.DOCUMENT_MAX_BYTES} bytes, the limit for documents."
            )
        return raw_data

    def file_complete(self, file_size: int) -> None:
        # The next handler (memory or temporary file) builds the uploaded file.
        return None
