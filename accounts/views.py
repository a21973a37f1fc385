"""The sign-in, callback and sign-out pages under ``/oidc/``, and the provider's back-channel logout.

mozilla-django-oidc's views, made to answer a page a person can read (never a 500) when sign-in is
not configured, when the provider cannot be reached, and when it returns an error.
"""

import logging
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from accounts import oidc, tokens
from accounts.backends import ProviderError
from accounts.sessions import (
    PROVIDER_SID_ATTRIBUTE,
    LogoutTokenReplayed,
    browser_session_record,
    provider_logout,
)

logger = logging.getLogger("aether.oidc")

# What the provider's standard error codes (RFC 6749 4.1.2.1) mean to the person signing in.
PROVIDER_ERRORS = {
    "access_denied": "The sign-in was cancelled or refused at the identity provider.",
    "login_required": "The identity provider needs you to sign in again.",
    "consent_required": "The identity provider needs your consent before you can sign in.",
    "temporarily_unavailable": "The identity provider is temporarily unavailable.",
    "server_error": "The identity provider ran into an error.",
}


def sign_in_problem(request: HttpRequest, *, title: str, message: str, status: int) -> HttpResponse:
    """The friendly page every sign-in failure ends on, with a way to try again."""
    context = {"title": title, "message": message, "can_retry": oidc.is_configured()}
    return render(request, "sign_in_problem.html", context, status=status)


def _not_configured(request: HttpRequest) -> HttpResponse:
    return sign_in_problem(
        request,
        title="Sign-in is not configured",
        message="This Aether server has no identity provider configured (OIDC_ISSUER is not set), "
        "so nobody can sign in yet. Ask its operator to set OIDC_ISSUER, OIDC_CLIENT_ID and "
        "OIDC_CLIENT_SECRET.",
        status=503,
    )


def _unreachable(request: HttpRequest) -> HttpResponse:
    return sign_in_problem(
        request,
        title="The identity provider cannot be reached",
        message="Aether could not talk to the identity provider just now. Please try again in a "
        "moment; if it keeps happening, tell the operator of this server.",
        status=503,
    )


def _issuer_mismatch(request: HttpRequest) -> HttpResponse:
    return sign_in_problem(
        request,
        title="Sign-in is misconfigured",
        message="The identity provider calls itself by another issuer URL than the one this Aether "
        "server is configured with (OIDC_ISSUER), so its tokens cannot be trusted here. Tell the "
        "operator of this server.",
        status=503,
    )


class SignInView(OIDCAuthenticationRequestView):
    """``/oidc/authenticate/``: send the browser to the provider's login page."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library reads the endpoint and client here; Aether resolves them per request.
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc.is_configured():
            return _not_configured(request)
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc.endpoint("authorization_endpoint")
        except oidc.IssuerMismatch as exc:
            logger.error("sign-in could not start", extra={"error": str(exc)})
            return _issuer_mismatch(request)
        except oidc.ProviderUnavailable as exc:
            logger.warning("sign-in could not start", extra={"error": str(exc)})
            return _unreachable(request)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_CLIENT_ID
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """``/oidc/callback/``: the provider sends the browser back here with a code or an error."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc.is_configured():
            return _not_configured(request)
        if request.GET.get("error") and request.GET.get("state") not in request.session.get(
            "oidc_states", {}
        ):
            # The library signs the current user out on any ?error=, so a link anyone can send
            # would sign people out. An error answering no sign-in this browser started only shows
            # the failure page.
            return self.login_failure()
        try:
            return super().get(request)
        except ProviderError:
            return _unreachable(request)
        except SuspiciousOperation:
            # A callback whose state this browser never asked for: an old tab, or a forged link.
            return sign_in_problem(
                request,
                title="This sign-in link has expired",
                message="The sign-in could not be matched to this browser. Please sign in again.",
                status=400,
            )

    def login_success(self) -> HttpResponse:
        request_user = getattr(self.request, "user", None)
        signed_in_again = request_user is not None and request_user == self.user
        response = super().login_success()
        if signed_in_again:
            # The library keeps the session (and its CSRF token) when the same person signs in
            # again, so Django's user_logged_in, which records sessions, is not sent; the provider's
            # session (sid) may be a new one all the same.
            browser_session_record(
                session=self.request.session,
                user=self.user,
                sid=getattr(self.request, PROVIDER_SID_ATTRIBUTE, ""),
            )
        return response

    def login_failure(self) -> HttpResponse:
        error = self.request.GET.get("error", "")
        if error:
            logger.info(
                "the provider returned an error",
                extra={"error": error, "description": self.request.GET.get("error_description", "")},
            )
            message = PROVIDER_ERRORS.get(error, f"The identity provider returned the error {error!r}.")
            return sign_in_problem(request=self.request, title="Sign-in failed", message=message, status=400)
        return sign_in_problem(
            request=self.request,
            title="Sign-in failed",
            message="The identity provider's answer could not be accepted. Please sign in again.",
            status=400,
        )


def provider_logout_url(request: HttpRequest) -> str:
    """Where to send the browser after signing out: the provider's end-session endpoint, if any.

    RP-initiated logout: ``id_token_hint`` tells the provider whose session to end, and
    ``post_logout_redirect_uri`` brings the browser back to Aether's home page. Without an
    end-session endpoint (or when the provider is unreachable) only Aether's session ends.
    """
    home = request.build_absolute_uri(settings.LOGOUT_REDIRECT_URL)
    if not oidc.is_configured():
        return home
    end_session = oidc.optional_endpoint("end_session_endpoint")
    if not end_session:
        return home
    params = {"post_logout_redirect_uri": home, "client_id": settings.OIDC_CLIENT_ID}
    id_token = request.session.get("oidc_id_token")
    if id_token:
        params["id_token_hint"] = id_token
    separator = "&" if "?" in end_session else "?"
    return f"{end_session}{separator}{urlencode(params)}"


# The longest logout token read; a provider's are a few hundred bytes.
LOGOUT_TOKEN_MAX_LENGTH = 16_384
# How soon a provider may try again when its keys could not be fetched.
LOGOUT_RETRY_AFTER_SECONDS = 30


def _logout_answer(status: int, body: dict[str, str] | None = None) -> HttpResponse:
    response = JsonResponse(body, status=status) if body is not None else HttpResponse(status=status)
    response["Cache-Control"] = "no-store"
    return response


def _logout_refused(request: HttpRequest, reason: str) -> HttpResponse:
    """400 as Back-Channel Logout 1.0 (2.8) describes it, with OAuth 2.0's error code; nothing ended."""
    logger.warning(
        "back-channel logout refused",
        extra={"reason": reason, "remote_addr": request.META.get("REMOTE_ADDR", "")},
    )
    return _logout_answer(400, {"error": "invalid_request", "error_description": reason})


@csrf_exempt
def backchannel_logout(request: HttpRequest) -> HttpResponse:
    """``/oidc/backchannel-logout/``: the provider ends sessions (OpenID Connect Back-Channel Logout 1.0).

    The provider POSTs a form with ``logout_token``, server to server: no cookie, no CSRF token.
    A verified token ends the sessions it names (``accounts.sessions.provider_logout``) and the answer
    is an empty 200; anything else is a 400 JSON ``{"error", "error_description"}`` and ends nothing.
    """
    if request.method != "POST":
        response = _logout_answer(
            405, {"error": "invalid_request", "error_description": "Logout tokens are POSTed."}
        )
        response["Allow"] = "POST"
        return response
    sent = request.POST.getlist("logout_token")
    if len(sent) != 1 or not sent[0]:
        return _logout_refused(request, "The request must carry exactly one logout_token form field.")
    if len(sent[0]) > LOGOUT_TOKEN_MAX_LENGTH:
        return _logout_refused(
            request, f"The logout token is longer than {LOGOUT_TOKEN_MAX_LENGTH} characters."
        )
    if not oidc.is_configured():
        return _logout_refused(
            request, "Back-channel logout is not configured here (OIDC_ISSUER is not set)."
        )
    try:
        logout = tokens.verify_logout_token(sent[0])
    except tokens.InvalidToken as exc:
        return _logout_refused(request, str(exc))
    except oidc.ProviderUnavailable as exc:
        # The token may well be good: this is no refusal, and the provider may send it again.
        logger.warning("back-channel logout could not check the token", extra={"error": str(exc)})
        response = _logout_answer(
            503,
            {
                "error": "temporarily_unavailable",
                "error_description": "The provider's signing keys could not be fetched.",
            },
        )
        response["Retry-After"] = str(LOGOUT_RETRY_AFTER_SECONDS)
        return response
    try:
        ended = provider_logout(
            jti=logout.jti, expires_at=logout.acceptable_until, sub=logout.sub, sid=logout.sid
        )
    except LogoutTokenReplayed as exc:
        return _logout_refused(request, str(exc))
    logger.info(
        "back-channel logout",
        extra={"sub": logout.sub, "sid": logout.sid, "jti": logout.jti, "sessions_ended": ended},
    )
    return _logout_answer(200)
