"""Fixtures for API tests: clients signed in as a given user, the way a browser or a program is.

``api_client(user)`` answers an ``APIClient`` authenticated with the scheme the test is parametrized
with (``auth_scheme``):

* ``session``: a session cookie, with CSRF checks enforced as for a browser;
* ``bearer``: an ``Authorization: Bearer`` access token, a Keycloak-shaped JWT for the user's
  ``sub`` signed by the test issuer (``keycloak_issuer``) and verified against its JWKS.

A bearer sign-in runs onboarding for a user whose onboarding has not completed, as the contract
says; tests about users without onboarding use ``session_api_client``.
"""

import secrets
import string

import pytest
from rest_framework.test import APIClient

AUTH_SCHEMES = ["session", "bearer"]


def session_client(user) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    # What a browser does: send the CSRF cookie back in the X-CSRFToken header on unsafe methods.
    token = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    client.cookies["csrftoken"] = token
    client.credentials(HTTP_X_CSRFTOKEN=token)
    return client


def bearer_client(user, issuer) -> APIClient:
    # The token carries the user's own claims: sign-in applies them, and must change nothing.
    token = issuer.access_token(
        user.sub, email=user.email, name=user.full_name, preferred_username=user.username
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture(params=AUTH_SCHEMES)
def auth_scheme(request) -> str:
    return request.param


@pytest.fixture
def api_client(request, auth_scheme):
    """Make a client for ``user`` that authenticates with ``auth_scheme``."""
    if auth_scheme == "bearer":
        issuer = request.getfixturevalue("keycloak_issuer")
        return lambda user: bearer_client(user, issuer)
    return session_client


@pytest.fixture
def session_api_client():
    """Make a session client for ``user`` (a browser's): signing in this way never onboards."""
    return session_client
