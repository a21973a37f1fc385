"""Every error of the JSON API is JSON: ``{"detail": ...}``, or DRF's field errors for invalid input.

Services raise Django's ``ValidationError`` and the domain's errors (``aether.errors.DomainError``,
each carrying its HTTP status); they are turned into HTTP answers here, once, rather than in each
view, and without knowing any app.
"""

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.fields import get_error_detail
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from aether.errors import DomainError

API_PREFIX = "/api/"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class DomainErrorAnswer(exceptions.APIException):
    """A ``DomainError`` as DRF answers it: its status, and its message as the detail, or under the
    name of the field it is about."""

    def __init__(self, error: DomainError) -> None:
        detail = {error.field: [error.message]} if error.field else error.message
        super().__init__(detail, code=error.code)
        self.status_code = error.status_code


def _as_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, DomainError):
        return DomainErrorAnswer(exc)
    if isinstance(exc, DjangoValidationError):
        detail = get_error_detail(exc)
        # A message about no field in particular reads as the answer's detail.
        if isinstance(detail, list):
            return exceptions.ValidationError({"detail": " ".join(str(message) for message in detail)})
        if NON_FIELD_ERRORS in detail:
            detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
        return exceptions.ValidationError(detail)
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, ObjectDoesNotExist):
        # Something looked up a moment ago is gone (deleted concurrently): as if it never was.
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied) and exc.args:
        return exceptions.PermissionDenied(str(exc.args[0]))
    return exc


def exception_handler(exc: Exception, context: dict) -> HttpResponse | None:
    """DRF's handler, after translating the exceptions services raise into API exceptions."""
    response = drf_exception_handler(_as_api_exception(exc), context)
    if isinstance(exc, exceptions.Throttled) and response is not None:
        # JSON with Retry-After on every route, the schema's (which renders YAML or OpenAPI JSON) included.
        return JsonResponse(
            response.data, status=response.status_code, headers={"Retry-After": response["Retry-After"]}
        )
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Unknown URLs under ``/api/`` answer JSON; elsewhere Django's page."""
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Unexpected errors under ``/api/`` answer JSON (details stay in the log); elsewhere Django's page."""
    if _is_api(request):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Malformed requests answer 400; a body refused for its size (``RequestDataTooBig``, raised while
    Django reads it, before any view runs) answers 413, as JSON under ``/api/`` or as a page."""
    if isinstance(exception, RequestDataTooBig):
        return request_too_large(request, exception)
    if _is_api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def request_too_large(request: HttpRequest, exception: RequestDataTooBig) -> HttpResponse:
    # A document's upload refused by its own limit (notebooks.uploads) says so in its message.
    upload = isinstance(exception, DomainError)
    if _is_api(request):
        detail = str(exception) if upload else PayloadTooLarge.default_detail
        return JsonResponse({"detail": detail}, status=413)
    # Back to the page the form was on, when it is one of ours.
    referer = request.META.get("HTTP_REFERER", "")
    same_site = url_has_allowed_host_and_scheme(referer, {request.get_host()}, request.is_secure())
    context = {
        # The limit that refused it: a document's, or (any other form) Django's for a request body.
        "upload": upload,
        "limit": settings.DOCUMENT_MAX_BYTES if upload else settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
        "size": _declared_length(request),
        "back_url": referer if referer and same_site else "/",
    }
    return render(request, "413.html", context, status=413)


def _declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "") or None
    except ValueError:
        return None
