"""Answers while the database cannot be reached: 503 with ``Retry-After``, logged once, as a warning.

A database that refuses connections, drops them or stops answering in time surfaces as Django's
``OperationalError`` (or ``InterfaceError`` on a connection already closed) wherever the request first
touches it: a view, DRF's authentication (signing a bearer token's user in), or loading the session
and the signed-in user, which happens in middleware before any view. The request cannot be served,
but nothing is wrong with the request or the code, so it is answered 503: JSON ``{"detail": ...}``
under ``/api/``, the site's 503 page elsewhere, both with ``Retry-After``.

Two places see such an error. ``DatabaseOutageMiddleware.process_exception`` catches it when it
escapes a view (DRF re-raises what its exception handler does not know); ``server_error``, the
``handler500``, when it escapes a middleware, which Django turns into a 500 at that layer. Both log
one warning without a traceback and mark the response as logged, so that Django does not add its own
"Internal Server Error" or "Service Unavailable" line for the same request.

Recovery needs nothing here: a connection that failed is closed at the end of the request
(``errors_occurred``, then ``CONN_HEALTH_CHECKS``), and the next request connects again.
"""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from aether import api_errors

logger = logging.getLogger("aether.database")

# Seconds a client is asked to wait before trying again: long enough for a database restart or a
# fail-over, short enough that nobody gives up.
RETRY_AFTER_SECONDS = 30
UNAVAILABLE_DETAIL = "The database cannot be reached right now. Try again in a moment."


def is_database_outage(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the database cannot serve the request now (rather than a bug or bad input)."""
    return isinstance(exc, OperationalError | InterfaceError)


def log_database_unavailable(request: HttpRequest, exc: BaseException, response: HttpResponse) -> None:
    """Log the request's one warning, naming the error, and keep Django from logging ``response`` again."""
    first_line = next(iter(str(exc).strip().splitlines()), "")
    logger.warning(
        "database unavailable",
        extra={
            "method": request.method,
            "path": request.path,
            "error": f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__,
        },
    )
    # Django's request logger skips a response marked as logged (its "Service Unavailable" line would
    # be an ERROR, with the traceback when it comes from an exception).
    response._has_been_logged = True


def database_unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The 503 answer for ``request``, logged once as a warning naming the error."""
    if request.path.startswith(api_errors.API_PREFIX):
        response: HttpResponse = JsonResponse({"detail": UNAVAILABLE_DETAIL}, status=503)
    else:
        # The 503 template reads no user, session or space: it renders without the database.
        response = render(request, "503.html", status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    log_database_unavailable(request, exc, response)
    return response


class DatabaseOutageMiddleware:
    """Answer 503 when a view (DRF's included) fails because the database cannot be reached."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_outage(exception):
            return database_unavailable(request, exception)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: 503 when the error being handled is the database's, else the usual 500.

    Django calls it while handling the exception (``sys.exc_info()`` is that exception), for errors
    raised in middleware as well as in views.
    """
    exc = sys.exception()
    if is_database_outage(exc):
        return database_unavailable(request, exc)
    return api_errors.server_error(request)
