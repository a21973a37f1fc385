"""Keep oversized uploads out of storage while the request is read, and say how large they were.

Django's own handlers stream a whole upload to memory or to a temporary file before any view could
look at its size; a view's check then comes too late to spare the disk or the time. This handler
runs first (``FILE_UPLOAD_HANDLERS``) for every multipart request, the web form's and the API's
alike, and decides by the request's declared length and by the bytes of each file:

* a request larger than ``upload_read_max_bytes()`` is refused before any of it is read
  (``UploadTooLarge``, a ``RequestDataTooBig``: the API answers 413, the upload page puts the
  message next to its file field);
* otherwise the request is read to the end, so the page can answer with the other fields as typed
  and the file's exact size. A file's bytes past ``DOCUMENT_MAX_BYTES`` are counted but never passed
  on to the storing handlers, and a request too large to hold a document that fits passes on none
  at all. Such a file arrives as an ``OversizedUpload``: its name and exact size, no content, which
  the document services refuse (``DocumentTooLarge``).
"""

import io

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from aether.errors import TooLargeError
from notebooks.sizes import size_text

# Room for a multipart envelope (boundaries, part headers, the other fields) around the file.
UPLOAD_ENVELOPE_BYTES = 64 * 1024


class UploadTooLarge(RequestDataTooBig, TooLargeError):
    """A multipart request too large to read at all; its message says so to the user.

    Also Django's ``RequestDataTooBig``: raised while Django reads the body, it is answered as that is
    (``aether.api_errors.bad_request``), with this message."""

    def __init__(self, size: int, limit: int) -> None:
        self.size, self.limit = size, limit
        super().__init__(f"The upload is {size_text(size)}; documents may be at most {size_text(limit)}.")


class OversizedUpload(UploadedFile):
    """An uploaded file that passed the document limit: its name, type and exact size, none of its bytes."""

    def __init__(self, *, name: str, content_type: str, size: int, charset: str | None) -> None:
        super().__init__(io.BytesIO(), name=name, content_type=content_type, size=size, charset=charset)


def upload_max_bytes() -> int:
    """The largest multipart request that can hold a document that fits: one at the limit and its envelope."""
    return settings.DOCUMENT_MAX_BYTES + UPLOAD_ENVELOPE_BYTES


def upload_read_max_bytes() -> int:
    """The largest multipart request read at all (only counted past ``upload_max_bytes()``)."""
    return 2 * settings.DOCUMENT_MAX_BYTES + UPLOAD_ENVELOPE_BYTES


class DocumentSizeLimitHandler(FileUploadHandler):
    """Pass each file's bytes on up to the document limit; count, and keep back, the rest."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None) -> None:
        self.limit = settings.DOCUMENT_MAX_BYTES
        if content_length and content_length > upload_read_max_bytes():
            raise UploadTooLarge(content_length, self.limit)
        # Too large to hold a document that fits: nothing of it is worth storing.
        self.store_nothing = bool(content_length) and content_length > upload_max_bytes()

    def new_file(self, *args: object, **kwargs: object) -> None:
        super().new_file(*args, **kwargs)
        self.file_size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.file_size += len(raw_data)
        if self.store_nothing or self.file_size > self.limit:
            # None: the storing handlers after this one never see the chunk.
            return None
        return raw_data

    def file_complete(self, file_size: int) -> OversizedUpload | None:
        if self.store_nothing or self.file_size > self.limit:
            # Returned first, so the storing handlers' partial file is never used.
            return OversizedUpload(
                name=self.file_name,
                content_type=self.content_type,
                size=self.file_size,
                charset=self.charset,
            )
        # The next handler (memory or temporary file) builds the uploaded file.
        return None
