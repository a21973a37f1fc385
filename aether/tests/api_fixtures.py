"""Fixtures for API tests: clients signed in as a given user, the way a browser or a program is.

``api_client(user)`` answers an ``APIClient`` authenticated with the scheme the test is parametrized
with (``auth_scheme``): a session cookie with CSRF checks enforced, as a browser sends it.
"""

import secrets
import string

import pytest
from rest_framework.test import APIClient

AUTH_SCHEMES = ["session"]


def _session_client(user) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    # What a browser does: send the CSRF cookie back in the X-CSRFToken header on unsafe methods.
    token = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    client.cookies["csrftoken"] = token
    client.credentials(HTTP_X_CSRFTOKEN=token)
    return client


@pytest.fixture(params=AUTH_SCHEMES)
def auth_scheme(request) -> str:
    return request.param


@pytest.fixture
def api_client(auth_scheme):
    """Make a client for ``user`` that authenticates with ``auth_scheme``."""

    def make(user) -> APIClient:
        return _session_client(user)

    return make
