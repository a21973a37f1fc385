"""Bearer tokens on the API: opaque ones from the development provider, Keycloak-shaped JWTs."""

import base64
import hashlib
import hmac
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache.backends import base as cache_base
from django.core.cache.backends import locmem

from accounts import authentication, oidc
from accounts.models import Space, User
from notebooks.models import Agent, Document, Notebook
from onboarding.models import OnboardingRun

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"
DOCUMENTS = {"Welcome to Aether.txt", "Quick Start Guide.txt", "Sample FAQ.txt"}


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def assert_onboarded(user: User) -> None:
    """The user's resources exist: one of each, as onboarding creates them."""
    assert Space.objects.filter(owner=user, type="personal").count() == 1
    notebook = Notebook.objects.get(owner=user)
    assert notebook.name == "Getting Started"
    assert set(Document.objects.filter(notebook=notebook).values_list("name", flat=True)) == DOCUMENTS
    assert Agent.objects.get(owner=user).name == "Personal Assistant"


def assert_refused(response) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["Content-Type"].startswith("application/json")
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]


def test_an_opaque_token_from_the_provider_signs_in_and_onboards_a_new_user(client, dev_provider):
    dev_provider.set_user("opaque-1", email="opaque@example.com", name="Opal Que", preferred_username="opal")
    token = dev_provider.access_token("opaque-1")

    response = client.get(ME, **bearer(token))

    assert response.status_code == 200
    body = response.json()
    assert (body["sub"], body["email"], body["full_name"]) == ("opaque-1", "opaque@example.com", "Opal Que")
    assert body["onboarding_status"] == "completed"
    user = User.objects.get(sub="opaque-1")
    assert body["personal_space_id"] == str(Space.objects.get(owner=user, type="personal").pk)
    assert_onboarded(user)
    assert OnboardingRun.objects.get(user=user).trigger == "api"


def test_an_opaque_token_is_checked_at_the_provider_at_most_once_a_minute(client, dev_provider):
    token = dev_provider.access_token("cached-1")
    assert client.get(ME, **bearer(token)).status_code == 200

    # Revoked at the provider: the cached answer still holds for this token, for up to 60 s.
    requests.post(f"{dev_provider.url}/users/cached-1/revoke-tokens", timeout=10).raise_for_status()

    assert client.get(ME, **bearer(token)).status_code == 200
    assert_refused(client.get(ME, **bearer(dev_provider.access_token("cached-1") + "x")))


def test_an_opaque_token_the_provider_does_not_know_is_refused(client, dev_provider):
    response = client.get(ME, **bearer("never-issued-by-the-provider"))

    assert_refused(response)
    assert User.objects.count() == 0


def test_a_keycloak_jwt_signs_in_and_onboards_a_new_user(client, keycloak_issuer):
    token = keycloak_issuer.access_token(
        "kc-1", email="kc@example.com", name="Kay Cloak", preferred_username="kay"
    )

    response = client.get(ME, **bearer(token))

    assert response.status_code == 200
    body = response.json()
    assert (body["sub"], body["email"], body["username"]) == ("kc-1", "kc@example.com", "kay")
    assert body["onboarding_status"] == "completed"
    user = User.objects.get(sub="kc-1")
    assert_onboarded(user)
    assert OnboardingRun.objects.get(user=user).trigger == "api"


def test_jwts_are_verified_locally_with_the_cached_key_set(client, keycloak_issuer):
    for number in range(5):
        assert client.get(ME, **bearer(keycloak_issuer.access_token(f"local-{number}"))).status_code == 200

    assert keycloak_issuer.jwks_requests == 1


def test_a_rotated_key_is_picked_up_with_one_fetch(client, keycloak_issuer):
    assert client.get(ME, **bearer(keycloak_issuer.access_token("rot-1"))).status_code == 200
    keycloak_issuer.add_key("rotated-in")

    assert client.get(ME, **bearer(keycloak_issuer.access_token("rot-1"))).status_code == 200
    assert keycloak_issuer.jwks_requests == 2


def test_realm_roles_grant_staff_on_the_api_too(client, keycloak_issuer, settings):
    settings.OIDC_STAFF_ROLES = ["aether-staff"]
    token = keycloak_issuer.access_token("kc-staff", realm_access={"roles": ["aether-staff"]})

    assert client.get(ME, **bearer(token)).json()["is_staff"] is True


def test_an_audience_from_oidc_audiences_is_accepted(client, keycloak_issuer, settings):
    settings.OIDC_AUDIENCES = ["aether-api"]
    token = keycloak_issuer.access_token("aud-1", aud=["aether-api", "account"], azp="a-mobile-app")

    assert client.get(ME, **bearer(token)).status_code == 200


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(issuer, claims: dict) -> str:
    """The algorithm-confusion attack: HMAC keyed with the issuer's public key, which anyone has."""
    public_pem = (
        issuer.keys[issuer.current_kid]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": issuer.current_kid}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _unsigned(issuer, claims: dict) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": issuer.current_kid}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def _with_header_type(issuer, claims: dict, header_type: str) -> str:
    key = issuer.keys[issuer.current_kid]
    return jwt.encode(claims, key, algorithm="RS256", headers={"typ": header_type, "kid": issuer.current_kid})


def _other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


REFUSED_TOKENS = {
    "bad signature": lambda kc, sub: kc.sign(kc.claims(sub), key=_other_key()),
    "alg none": lambda kc, sub: _unsigned(kc, kc.claims(sub)),
    "HS256 signed with the public key": lambda kc, sub: _hs256_with_public_key(kc, kc.claims(sub)),
    "expired": lambda kc, sub: kc.access_token(sub, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
    "not yet valid": lambda kc, sub: kc.access_token(sub, nbf=int(time.time()) + 3600),
    "wrong iss": lambda kc, sub: kc.access_token(sub, iss=f"{kc.base_url}/realms/other"),
    "wrong aud and azp": lambda kc, sub: kc.access_token(sub, aud="account", azp="another-client"),
    "no sub": lambda kc, sub: kc.access_token(sub, sub=None),
    "an ID token": lambda kc, sub: kc.access_token(sub, typ="ID"),
    "a refresh token": lambda kc, sub: kc.access_token(sub, typ="Refresh"),
    "an ID token without typ": lambda kc, sub: kc.access_token(
        sub, typ=None, aud=kc.client_id, azp=None, at_hash="x1Ly7tyDNSQt6ZVR0bdrWA", nonce="n-1"
    ),
    "an ID token with c_hash": lambda kc, sub: kc.access_token(
        sub, typ=None, c_hash="LDktKdoQak3Pk0cnXxCltA"
    ),
    "an id_token+jwt header": lambda kc, sub: _with_header_type(kc, kc.claims(sub, typ=None), "id_token+jwt"),
    "no exp": lambda kc, sub: kc.access_token(sub, exp=None),
    "garbage that looks like a JWT": lambda kc, sub: "eyJhbGciOiJSUzI1NiJ9.garbage.garbage",
    "garbage": lambda kc, sub: "garbage",
}


@pytest.mark.parametrize("kind", REFUSED_TOKENS)
def test_a_bad_token_is_refused_and_creates_no_user(client, keycloak_issuer, kind):
    token = REFUSED_TOKENS[kind](keycloak_issuer, "intruder")

    assert_refused(client.get(ME, **bearer(token)))
    assert User.objects.count() == 0


def test_a_token_for_an_unknown_kid_is_refused_after_one_refetch(client, keycloak_issuer):
    token = keycloak_issuer.sign(
        keycloak_issuer.claims("intruder"), kid="not-a-key-of-ours", key=_other_key()
    )

    assert_refused(client.get(ME, **bearer(token)))
    assert User.objects.count() == 0
    assert keycloak_issuer.jwks_requests == 2


def test_a_token_without_kid_is_accepted_only_from_a_single_key_set(client, keycloak_issuer):
    assert (
        client.get(ME, **bearer(keycloak_issuer.sign(keycloak_issuer.claims("no-kid"), kid=None))).status_code
        == 200
    )

    keycloak_issuer.add_key("second")
    oidc.clear_cache()  # the provider now publishes two keys

    assert_refused(client.get(ME, **bearer(keycloak_issuer.sign(keycloak_issuer.claims("no-kid"), kid=None))))


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer one two", "Bearer \u00e9t\u00e9", "Basic dXNlcjpwYXNz", "Token abc", ""],
)
def test_garbage_in_the_authorization_header_is_refused(client, keycloak_issuer, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    assert_refused(client.get(ME, **extra))
    assert User.objects.count() == 0


def test_bearer_tokens_are_refused_when_sign_in_is_not_configured(client, settings):
    settings.OIDC_ISSUER = ""

    assert_refused(client.get(ME, **bearer("anything")))


def test_an_unreachable_provider_is_a_401_not_a_500(client, settings):
    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # discard port: nothing answers
    settings.OIDC_CLIENT_ID = "aether-test"

    response = client.get(ME, **bearer("opaque-token"))

    assert_refused(response)
    assert "cannot be reached" in response.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_first_requests_create_one_user_and_one_set_of_resources(live_server, keycloak_issuer):
    token = keycloak_issuer.access_token("rush-1", email="rush@example.com", name="Rush Hour")
    start = threading.Barrier(10)

    def call(_: int) -> int:
        start.wait()
        return requests.get(
            f"{live_server.url}{ME}", headers={"Authorization": f"Bearer {token}"}, timeout=60
        ).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(call, range(10)))

    assert statuses == [200] * 10
    user = User.objects.get(sub="rush-1")
    assert User.objects.filter(email="rush@example.com").count() == 1
    assert_onboarded(user)
    assert Notebook.objects.count() == 1
    assert Document.objects.count() == 3
    assert Agent.objects.count() == 1


def test_a_disabled_user_is_refused_with_a_bearer_token(client, keycloak_issuer):
    token = keycloak_issuer.access_token("off-2")
    assert client.get(ME, **bearer(token)).status_code == 200

    User.objects.filter(sub="off-2").update(is_active=False)

    assert_refused(client.get(ME, **bearer(token)))


def test_many_unknown_kids_cost_at_most_one_extra_key_set_fetch(client, keycloak_issuer):
    assert client.get(ME, **bearer(keycloak_issuer.access_token("kid-1"))).status_code == 200

    for number in range(5):
        token = keycloak_issuer.sign(
            keycloak_issuer.claims("intruder"), kid=f"forged-{number}", key=_other_key()
        )
        assert_refused(client.get(ME, **bearer(token)))

    assert keycloak_issuer.jwks_requests == 2


def test_a_rotation_after_the_refresh_interval_is_picked_up(client, keycloak_issuer, monkeypatch):
    monkeypatch.setattr(oidc, "JWKS_REFRESH_INTERVAL_SECONDS", 0.2)
    forged = keycloak_issuer.sign(keycloak_issuer.claims("intruder"), kid="forged", key=_other_key())
    assert_refused(client.get(ME, **bearer(forged)))
    assert keycloak_issuer.jwks_requests == 2

    time.sleep(0.3)
    keycloak_issuer.add_key("rotated-later")

    assert client.get(ME, **bearer(keycloak_issuer.access_token("rot-2"))).status_code == 200
    assert keycloak_issuer.jwks_requests == 3


def test_a_refused_opaque_token_is_not_checked_again_at_once(client, dev_provider, settings):
    assert_refused(client.get(ME, **bearer("refused-opaque-token")))
    # The provider moves out of reach: a second check would say "cannot be reached".
    settings.OIDC_OP_USER_ENDPOINT = "http://127.0.0.1:9/userinfo"

    response = client.get(ME, **bearer("refused-opaque-token"))

    assert_refused(response)
    assert "does not accept" in response.json()["detail"]


@pytest.mark.parametrize("header_type", ["at+jwt", "AT+JWT", "JWT", None])
def test_access_tokens_need_no_typ_but_may_say_they_are_one(client, keycloak_issuer, header_type):
    # Okta and Auth0 access tokens carry no typ claim; RFC 9068 ones say at+jwt in the header.
    claims = keycloak_issuer.claims("typ-1", typ=None)
    key = keycloak_issuer.keys[keycloak_issuer.current_kid]
    headers = {"kid": keycloak_issuer.current_kid, **({"typ": header_type} if header_type else {})}
    token = jwt.encode(claims, key, algorithm="RS256", headers=headers)

    assert client.get(ME, **bearer(token)).status_code == 200


def test_a_token_without_role_claims_leaves_staff_alone(client, dev_provider, settings):
    settings.OIDC_STAFF_ROLES = ["aether-staff"]
    User.objects.create_user(username="staffer", sub="staff-opaque", email="s@example.com", is_staff=True)
    # The development provider's userinfo carries no realm_access/resource_access at all.
    token = dev_provider.access_token("staff-opaque")

    assert client.get(ME, **bearer(token)).json()["is_staff"] is True
    assert User.objects.get(sub="staff-opaque").is_staff is True


@pytest.mark.parametrize(
    ("keys", "status"),
    [
        ("junk entries next to the real key", 200),
        ("keys is an object", 401),
        ("keys is a string", 401),
    ],
)
def test_a_key_set_with_junk_is_never_a_500(client, keycloak_issuer, keys, status):
    real = keycloak_issuer.jwks()["keys"]
    keycloak_issuer.jwks_body = {
        "junk entries next to the real key": {"keys": ["junk", 3, None, [], *real]},
        "keys is an object": {"keys": {"kty": "RSA"}},
        "keys is a string": {"keys": "RSA"},
    }[keys]

    response = client.get(ME, **bearer(keycloak_issuer.access_token("junk-1")))

    assert response.status_code == status


def test_a_replaced_key_is_picked_up_for_tokens_without_kid(client, keycloak_issuer):
    assert (
        client.get(
            ME, **bearer(keycloak_issuer.sign(keycloak_issuer.claims("nokid-1"), kid=None))
        ).status_code
        == 200
    )

    # The provider restarts with a new (single) key, as the development provider does.
    keycloak_issuer.keys.clear()
    keycloak_issuer.add_key()
    token = keycloak_issuer.sign(keycloak_issuer.claims("nokid-1"), kid=None)

    assert client.get(ME, **bearer(token)).status_code == 200
    assert keycloak_issuer.jwks_requests == 2
    forged = keycloak_issuer.sign(keycloak_issuer.claims("nokid-1"), kid=None, key=_other_key())
    for _ in range(3):
        assert_refused(client.get(ME, **bearer(forged)))
    assert keycloak_issuer.jwks_requests == 2


def test_a_revoked_opaque_token_is_refused_once_its_cached_answer_expires(client, dev_provider, monkeypatch):
    token = dev_provider.access_token("expiring-1")
    assert client.get(ME, **bearer(token)).status_code == 200
    requests.post(f"{dev_provider.url}/users/expiring-1/revoke-tokens", timeout=10).raise_for_status()
    assert client.get(ME, **bearer(token)).status_code == 200  # still the cached answer

    # The cache's clock moves past the answer's lifetime, whatever the machine's load made of the wait.
    later = time.time() + authentication.USERINFO_CACHE_SECONDS + 1
    clock = SimpleNamespace(time=lambda: later)
    monkeypatch.setattr(locmem, "time", clock)
    monkeypatch.setattr(cache_base, "time", clock)

    assert_refused(client.get(ME, **bearer(token)))
