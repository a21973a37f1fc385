"""The provider's endpoints and keys: discovered lazily, cached, overridable; ID token checks."""

import time

import pytest

from accounts import oidc, tokens
from aether.tests.test_settings import start_django


def test_the_app_starts_without_reaching_the_provider():
    result = start_django(DJANGO_DEBUG="true", OIDC_ISSUER="http://127.0.0.1:9/realms/down")

    assert result.returncode == 0, result.stderr


def test_discovery_is_fetched_on_first_use_and_then_cached(keycloak_issuer):
    assert keycloak_issuer.discovery_requests == 0

    assert oidc.endpoint("token_endpoint") == f"{keycloak_issuer.url}/protocol/openid-connect/token"
    assert oidc.endpoint("userinfo_endpoint") == f"{keycloak_issuer.url}/protocol/openid-connect/userinfo"
    assert keycloak_issuer.discovery_requests == 1

    oidc.clear_cache()
    oidc.endpoint("token_endpoint")
    assert keycloak_issuer.discovery_requests == 2


def test_a_failed_discovery_is_not_cached(keycloak_issuer):
    keycloak_issuer.down = True
    with pytest.raises(oidc.ProviderUnavailable):
        oidc.endpoint("token_endpoint")

    keycloak_issuer.down = False
    assert oidc.endpoint("token_endpoint").endswith("/protocol/openid-connect/token")


def test_an_explicit_endpoint_overrides_the_discovered_one(keycloak_issuer, settings):
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://sso.internal.example/token"

    assert oidc.endpoint("token_endpoint") == "https://sso.internal.example/token"
    assert oidc.endpoint("jwks_uri").endswith("/protocol/openid-connect/certs")


def test_without_an_issuer_nothing_is_fetched(settings):
    settings.OIDC_ISSUER = ""

    assert oidc.is_configured() is False
    with pytest.raises(oidc.OIDCNotConfigured):
        oidc.endpoint("token_endpoint")


def id_token_claims(issuer, **overrides):
    now = int(time.time())
    claims = {
        "iss": issuer.url,
        "aud": "aether-test",
        "sub": "id-1",
        "iat": now,
        "exp": now + 300,
        "nonce": "n-1",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def test_an_id_token_is_accepted_with_the_right_issuer_audience_and_nonce(keycloak_issuer):
    token = keycloak_issuer.sign(id_token_claims(keycloak_issuer))

    assert tokens.verify_id_token(token, nonce="n-1")["sub"] == "id-1"


@pytest.mark.parametrize(
    ("overrides", "nonce"),
    [
        ({"aud": "another-client"}, "n-1"),
        ({"iss": "http://127.0.0.1:9/realms/other"}, "n-1"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "n-1"),
        ({}, "another-nonce"),
        ({"nonce": None}, "n-1"),
        ({"sub": None}, "n-1"),
    ],
    ids=["audience", "issuer", "expired", "nonce", "no nonce", "no sub"],
)
def test_an_id_token_failing_a_check_is_refused(keycloak_issuer, overrides, nonce):
    token = keycloak_issuer.sign(id_token_claims(keycloak_issuer, **overrides))

    with pytest.raises(tokens.InvalidToken):
        tokens.verify_id_token(token, nonce=nonce)


@pytest.mark.django_db
def test_an_issuer_with_a_trailing_slash_is_kept_and_compared_exactly(client, keycloak_issuer, settings):
    keycloak_issuer.trailing_slash = True
    settings.OIDC_ISSUER = keycloak_issuer.issuer
    oidc.clear_cache()
    token = keycloak_issuer.access_token("slash-1")

    response = client.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    assert keycloak_issuer.discovery_requests == 1


def test_the_issuer_setting_keeps_its_trailing_slash():
    code = "import django; django.setup(); from django.conf import settings; print(settings.OIDC_ISSUER)"
    result = start_django(DJANGO_DEBUG="true", OIDC_ISSUER="https://tenant.example/", _code=code)

    assert result.stdout.strip() == "https://tenant.example/"


@pytest.mark.django_db
def test_a_discovery_document_naming_another_issuer_is_refused(client, keycloak_issuer, settings):
    settings.OIDC_ISSUER = f"{keycloak_issuer.url}/"  # the provider says it has no trailing slash
    oidc.clear_cache()

    with pytest.raises(oidc.IssuerMismatch, match="must be the same string"):
        oidc.endpoint("token_endpoint")
    page = client.get("/oidc/authenticate/")
    assert page.status_code == 503
    assert "Sign-in is misconfigured" in page.content.decode()
    token = keycloak_issuer.access_token("slash-2", iss=settings.OIDC_ISSUER)
    assert client.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
