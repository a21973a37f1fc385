"""A request id for every request, in its response and in every log line written while it runs.

``RequestIdMiddleware`` (first in ``MIDDLEWARE``) takes the caller's ``X-Request-ID`` when it is a
plausible id (``REQUEST_ID_PATTERN``: 1 to 128 letters, digits, ``-``, ``_``, ``.`` or ``:``, which
covers UUIDs, nginx's ``$request_id`` and W3C trace ids) and otherwise makes a new one, so a proxy's id
follows the request through Aether, and a header carrying control characters, markup or a novel cannot
reach a log line. The id is kept in a context variable for as long as the request runs:
``RequestIdLogFilter`` copies it onto every log record, and services read it with
``current_request_id()`` (an onboarding run stores the id of the request that started it).
"""

import logging
import re
import uuid
from contextvars import ContextVar

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_MAX_LENGTH = 128
REQUEST_ID_PATTERN = re.compile(rf"[A-Za-z0-9._:-]{{1,{REQUEST_ID_MAX_LENGTH}}}")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being answered, or ``None`` outside a request (a command, a task)."""
    return _request_id.get()


def request_id_from(header: str | None) -> str:
    """The caller's id when it is a valid one, else a new one (32 hexadecimal digits)."""
    if header is not None and REQUEST_ID_PATTERN.fullmatch(header):
        return header
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Give the request its id until its response is closed, and send the id back in the response.

    The id stays set after this middleware returns: Django logs a 4xx or 5xx answer ("Not Found: /x")
    only once the whole middleware chain has returned, and that line belongs to the request too. It
    is cleared when the server closes the response (``request_finished``).
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        request_finished.connect(_forget_request_id, dispatch_uid="aether.request_id.forget")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        _request_id.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _forget_request_id(sender, **kwargs) -> None:
    _request_id.set(None)


class RequestIdLogFilter(logging.Filter):
    """Add ``request_id`` to every record written while a request runs (set on the handler in LOGGING)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _request_id.get()
        if request_id is not None:
            record.request_id = request_id
        return True
