"""Every answer under /api/ is JSON, errors included."""

import pytest
from django.test import RequestFactory

from aether.api_errors import server_error
from notebooks.models import Notebook
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db

ANY_ID = "00000000-0000-4000-8000-000000000000"


def test_unknown_api_urls_answer_json_404(api_client, user):
    for url in ["/api/v1/nothing-here", "/api/v1/notebooks/not-a-uuid", "/api/v2/notebooks"]:
        response = api_client(user).get(url)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Not found."}


def test_pages_outside_the_api_keep_html_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_wrong_method_answers_json_405(api_client, user):
    onboard_user(user=user, trigger="login")
    response = api_client(user).put("/api/v1/notebooks", {}, format="json")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "PUT" not allowed.'}


ANONYMOUS_CALLS = [
    ("get", "/api/v1/users/me"),
    ("get", "/api/v1/users/me/spaces"),
    ("get", "/api/v1/users/me/onboarding/runs"),
    ("get", "/api/v1/users/me/onboarding/status"),
    ("post", "/api/v1/users/me/onboarding/retry"),
    ("get", "/api/v1/spaces"),
    ("post", "/api/v1/spaces"),
    ("get", f"/api/v1/spaces/{ANY_ID}"),
    ("get", f"/api/v1/spaces/{ANY_ID}/members"),
    ("post", f"/api/v1/spaces/{ANY_ID}/members"),
    ("patch", f"/api/v1/spaces/{ANY_ID}/members/{ANY_ID}"),
    ("delete", f"/api/v1/spaces/{ANY_ID}/members/{ANY_ID}"),
    ("get", "/api/v1/notebooks"),
    ("post", "/api/v1/notebooks"),
    ("get", "/api/v1/notebooks/search?query=x"),
    ("get", f"/api/v1/notebooks/{ANY_ID}"),
    ("patch", f"/api/v1/notebooks/{ANY_ID}"),
    ("delete", f"/api/v1/notebooks/{ANY_ID}"),
    ("get", f"/api/v1/notebooks/{ANY_ID}/documents"),
    ("post", f"/api/v1/notebooks/{ANY_ID}/documents"),
    ("get", f"/api/v1/documents/{ANY_ID}"),
    ("patch", f"/api/v1/documents/{ANY_ID}"),
    ("delete", f"/api/v1/documents/{ANY_ID}"),
    ("get", f"/api/v1/documents/{ANY_ID}/content"),
    ("get", "/api/v1/agents"),
    ("post", "/api/v1/agents"),
    ("get", f"/api/v1/agents/{ANY_ID}"),
    ("patch", f"/api/v1/agents/{ANY_ID}"),
    ("delete", f"/api/v1/agents/{ANY_ID}"),
]


@pytest.mark.parametrize(("method", "url"), ANONYMOUS_CALLS)
def test_every_route_answers_401_without_credentials(client, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_an_invalid_bearer_token_answers_401(client, keycloak_issuer):
    response = client.get("/api/v1/notebooks", HTTP_AUTHORIZATION="Bearer not-a-real-token")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["detail"]


def test_unsupported_body_types_answer_json_415(api_client, user):
    response = api_client(user).post(
        "/api/v1/notebooks", "name=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert "detail" in response.json()


def test_unexpected_errors_under_the_api_answer_json_500():
    response = server_error(RequestFactory().get("/api/v1/notebooks"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert b'"detail"' in response.content


def test_a_body_beyond_djangos_memory_limit_answers_json_413(api_client, user, settings):
    onboard_user(user=user, trigger="login")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    response = api_client(user).post(
        "/api/v1/notebooks", {"name": "x", "description": "y" * 200}, format="json"
    )

    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large."}


@pytest.mark.parametrize(
    "url",
    ["/api/v1/notebooks", "/api/v1/agents", "/api/v1/spaces", "/api/v1/notebooks/{notebook_id}/documents"],
)
def test_json_nested_too_deeply_answers_400(api_client, user, url):
    onboard_user(user=user, trigger="login")
    notebook = Notebook.objects.get(owner=user)
    body = "[" * 100_000 + "]" * 100_000

    response = api_client(user).post(
        url.format(notebook_id=notebook.pk), body, content_type="application/json"
    )

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
