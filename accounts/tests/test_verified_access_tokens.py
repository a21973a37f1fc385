"""Access tokens a process verified once: their signature is not checked again, everything else is."""

import time

import jwt
import pytest

from accounts import tokens
from accounts.models import User
from accounts.services import user_deactivate

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def assert_refused(response, reason: str) -> None:
    assert response.status_code == 401, response.content
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert reason in response.json()["detail"]


@pytest.fixture
def signature_checks(monkeypatch) -> list[str]:
    """The tokens whose signature PyJWT checks from now on, in order (the real check runs)."""
    checked = []
    decode = jwt.decode

    def counting_decode(token, *args, **kwargs):
        checked.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(tokens.jwt, "decode", counting_decode)
    return checked


def test_a_returning_token_is_verified_once_per_process(client, keycloak_issuer, signature_checks):
    token = keycloak_issuer.access_token("kept-1")

    answers = [client.get(ME, **bearer(token)) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200] * 4
    assert signature_checks == [token]


def test_a_kept_token_is_refused_once_it_expires(client, keycloak_issuer):
    # Expired a moment before the tolerated clock skew runs out: accepted now, refused within seconds.
    expires = int(time.time()) - tokens.LEEWAY_SECONDS + 2
    token = keycloak_issuer.access_token("kept-expiring", exp=expires)
    assert client.get(ME, **bearer(token)).status_code == 200

    time.sleep(max(0.0, expires + tokens.LEEWAY_SECONDS - time.time()) + 0.1)

    assert_refused(client.get(ME, **bearer(token)), "expired")


def test_a_deactivated_users_kept_token_is_refused(client, keycloak_issuer):
    token = keycloak_issuer.access_token("kept-deactivated")
    assert client.get(ME, **bearer(token)).status_code == 200

    user_deactivate(user=User.objects.get(sub="kept-deactivated"))

    assert_refused(client.get(ME, **bearer(token)), "disabled")


def test_a_kept_token_is_refused_once_its_audience_is_no_longer_accepted(client, keycloak_issuer, settings):
    token = keycloak_issuer.access_token("kept-audience", aud="reports", azp="reports-app")
    settings.OIDC_AUDIENCES = ["reports"]
    assert client.get(ME, **bearer(token)).status_code == 200

    settings.OIDC_AUDIENCES = []

    assert_refused(client.get(ME, **bearer(token)), "another audience")


def test_a_kept_token_of_a_withdrawn_key_is_refused_once_the_new_key_set_is_fetched(
    client, keycloak_issuer, signature_checks
):
    old_kid = keycloak_issuer.current_kid
    token = keycloak_issuer.access_token("kept-rotation")
    assert client.get(ME, **bearer(token)).status_code == 200

    # The provider rotates: a new key signs from now on, the old one is withdrawn.
    keycloak_issuer.add_key("after-rotation")
    del keycloak_issuer.keys[old_kid]
    # Until this process learns of it, as without the cache: the old key is still the one it trusts.
    assert client.get(ME, **bearer(token)).status_code == 200
    # The first token by the new key makes it fetch the key set, which no longer holds the old key.
    assert client.get(ME, **bearer(keycloak_issuer.access_token("kept-rotation"))).status_code == 200

    assert_refused(client.get(ME, **bearer(token)), old_kid)
    assert keycloak_issuer.jwks_requests == 2
    assert signature_checks.count(token) == 1


def test_a_refused_token_is_not_kept(client, keycloak_issuer):
    # Valid from a moment after the tolerated clock skew: refused now, accepted within seconds.
    not_before = int(time.time()) + tokens.LEEWAY_SECONDS + 3
    token = keycloak_issuer.access_token("kept-not-yet", nbf=not_before)
    assert_refused(client.get(ME, **bearer(token)), "not valid yet")

    time.sleep(max(0.0, not_before - tokens.LEEWAY_SECONDS - time.time()) + 0.1)

    assert client.get(ME, **bearer(token)).status_code == 200


def test_the_least_recently_used_tokens_go_first(client, keycloak_issuer, signature_checks, monkeypatch):
    monkeypatch.setattr(tokens, "verified_access_tokens", tokens.VerifiedAccessTokens(2))
    first, second, third = (keycloak_issuer.access_token(f"kept-lru-{number}") for number in range(3))

    for token in (first, second, first, third, first, second):
        assert client.get(ME, **bearer(token)).status_code == 200

    # `second` was the least recently used when `third` came, and was verified again on its return.
    assert signature_checks == [first, second, third, second]
