"""The domain's errors share one base that carries their HTTP status; the API and the pages read it."""

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.test import RequestFactory

from accounts.services import MembershipConflict, UnknownEmail
from aether.api_errors import exception_handler
from aether.errors import ConflictError, DomainError, NotFoundError
from aether.page_errors import PageErrorMiddleware
from notebooks.services import DocumentTooLarge
from notebooks.uploads import UploadTooLarge
from onboarding.deadline import OnboardingTimeout
from onboarding.recording import OnboardingError


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (MembershipConflict("The space's last owner cannot be removed."), 409),
        (UnknownEmail(), 404),
        (DocumentTooLarge(11, 10), 413),
        (UploadTooLarge(11, 10), 413),
        (OnboardingError("No onboarding blueprint is configured."), 409),
        (OnboardingTimeout("Onboarding timed out after 10 s."), 503),
    ],
)
def test_every_apps_service_errors_carry_their_status(error, status):
    assert isinstance(error, DomainError)
    assert error.status_code == status
    assert error.message == str(error)


def test_the_api_answers_a_domain_error_with_its_status_and_message():
    conflict = exception_handler(MembershipConflict("The space's last owner cannot be removed."), {})
    gone = exception_handler(UnknownEmail(), {})

    assert (conflict.status_code, conflict.data) == (
        409,
        {"detail": "The space's last owner cannot be removed."},
    )
    assert (gone.status_code, gone.data) == (
        404,
        {"detail": "No user with this e-mail address has signed in yet."},
    )


def test_the_api_answers_a_domain_error_about_a_field_under_its_name():
    response = exception_handler(ConflictError("This name is taken.", field="name"), {})

    assert (response.status_code, response.data) == (409, {"name": ["This name is taken."]})
    assert response.data["name"][0].code == "conflict"


def test_the_translator_knows_no_app():
    source = Path(settings.BASE_DIR, "aether", "api_errors.py").read_text()
    imported = {
        node.module.split(".")[0] for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)
    }
    assert not imported & {"accounts", "notebooks", "onboarding"}


@pytest.mark.django_db
def test_a_page_that_lets_a_not_found_error_through_answers_the_404_page():
    request = RequestFactory().get("/notebooks/gone/")
    middleware = PageErrorMiddleware(lambda request: None)

    response = middleware.process_exception(request, NotFoundError("No such notebook."))

    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]


def test_the_api_is_left_to_its_own_translator():
    request = RequestFactory().get("/api/v1/notebooks/gone")

    assert PageErrorMiddleware(lambda request: None).process_exception(request, NotFoundError()) is None
