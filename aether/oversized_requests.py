"""Answer a page's form body over the size limits with the site's 413 page, in debug mode too.

Django reads a form's body first in the CSRF middleware; a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``
or over the document upload limits (``notebooks.uploads``) raises ``RequestDataTooBig`` there, which
Django answers with ``handler400`` in production but with its technical error page (status 400)
under ``DJANGO_DEBUG``. Read here, before the CSRF middleware, the body gets the 413 page either way.

Views exempt from CSRF read their bodies themselves and answer for them: the API (JSON 413) and the
document upload page (the error next to its file field).
"""

from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from aether.api_errors import request_too_large

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class OversizedRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict
    ) -> HttpResponse | None:
        if request.method in SAFE_METHODS or getattr(view_func, "csrf_exempt", False):
            return None
        try:
            request.POST  # noqa: B018 - reads the body, as the CSRF middleware is about to
        except RequestDataTooBig as exc:
            return request_too_large(request, exc)
        except OSError:
            # The client went away mid-body: the CSRF middleware refuses the request as before.
            return None
        return None
