"""The one base of the domain's errors: what a service refuses, and how HTTP answers it.

Every app's service exceptions subclass ``DomainError`` and say their HTTP status, a default message
and, when the error is about one input field, its name. The API answers them in one place
(``aether.api_errors``) without knowing any app; a page shows them on its form, or, when its view
lets one through, the site's error page for that status (``aether.page_errors``). This module
imports no app, so ``accounts`` and ``onboarding`` can both build on it.
"""


class DomainError(Exception):
    """A request the domain refuses; the message is what the user sees."""

    status_code: int = 400
    default_message: str = "The request cannot be carried out."
    # DRF's machine-readable code of the answer.
    code: str = "invalid"
    # The input field the error is about (the API then answers ``{field: [message]}``), if any.
    field: str | None = None

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or self.default_message
        if field is not None:
            self.field = field
        super().__init__(self.message)


class NotFoundError(DomainError):
    status_code = 404
    default_message = "Not found."
    code = "not_found"


class ConflictError(DomainError):
    status_code = 409
    default_message = "The request conflicts with the current state."
    code = "conflict"


class TooLargeError(DomainError):
    status_code = 413
    default_message = "The request body is too large."
    code = "too_large"


class UnavailableError(DomainError):
    status_code = 503
    default_message = "The service cannot answer now; try again in a moment."
    code = "unavailable"
