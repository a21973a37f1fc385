"""Errors a page's view lets through, answered with the site's own error pages.

The API's views answer theirs as JSON (``aether.api_errors``). A page's view shows on its form what
the user can correct; this answers the rest by status: a ``DomainError`` of 404 or 403 and a row
deleted by another request while this one worked on it (``ObjectDoesNotExist``, see ``aether.rows``)
get the 404 and 403 pages, as if the thing never was or was not theirs. Anything else goes on to
Django's handling (a ``RequestDataTooBig`` to the 413 page, the rest to the 500 page).
"""

from collections.abc import Callable

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.views import defaults

from aether.api_errors import API_PREFIX, page_not_found
from aether.errors import DomainError


class PageErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path.startswith(API_PREFIX) or isinstance(exception, RequestDataTooBig):
            return None
        status = exception.status_code if isinstance(exception, DomainError) else None
        if isinstance(exception, ObjectDoesNotExist) or status == 404:
            return page_not_found(request, Http404(str(exception)))
        if status == 403:
            return defaults.permission_denied(request, PermissionDenied(str(exception)))
        return None
