"""Errors a page's view lets through, answered with the site's own error pages.

The API's views answer theirs as JSON (``aether.api_errors``); a page's view catches what it shows on
its form, and this answers the rest: a row deleted by another request while this one worked on it
(``ObjectDoesNotExist``, see ``aether.rows``) is a 404 page, as if it never was.
"""

from collections.abc import Callable

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse

from aether.api_errors import API_PREFIX, page_not_found


class PageErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, ObjectDoesNotExist):
            return page_not_found(request, Http404(str(exception)))
        return None
