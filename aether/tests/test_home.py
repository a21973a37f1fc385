import pytest

from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db


def test_a_visitor_sees_what_aether_is_and_a_sign_in_link(client):
    response = client.get("/")

    assert response.status_code == 200
    assert b'href="/oidc/authenticate/"' in response.content
    assert b"Sign in" in response.content


def test_a_signed_in_user_sees_their_notebooks_documents_and_agents(client, user):
    onboard_user(user=user, trigger="login")
    client.force_login(user)

    page = client.get("/").content.decode()

    for text in ("Getting Started", "Welcome to Aether.txt", "Quick Start Guide.txt", "Sample FAQ.txt"):
        assert text in page
    assert "Personal Assistant" in page
    assert "Ada Lovelace&#x27;s Personal Space" in page


def test_pages_carry_a_strict_content_security_policy(client):
    policy = client.get("/").headers["Content-Security-Policy"]

    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
