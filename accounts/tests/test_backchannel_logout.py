"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0) at ``/oidc/backchannel-logout/``.

Sessions are opened through the real sign-in at the development provider; logout tokens are signed
with that provider's own key, the one its JWKS publishes (``dev_provider.logout_token``). The
provider copies a user's non-standard claims into the ID token, so setting ``sid`` on the user
before a sign-in gives that session the provider session id a real provider would put there.
Django's test client plays the browsers here; test_sign_out_from_provider.py drives Chromium.
"""

import base64
import json
import logging
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.utils import timezone

from accounts.models import BrowserSession, ConsumedLogoutToken
from accounts.sessions import session_store
from accounts.tokens import BACKCHANNEL_LOGOUT_EVENT

pytestmark = pytest.mark.django_db

URL = "/oidc/backchannel-logout/"


def signed_in(dev_provider, sub: str, sid: str | None = None) -> Client:
    """A browser (test client) signed in as ``sub`` through the provider, its session from ``sid``."""
    client = Client()
    claims = {"email": f"{sub}@example.com", "name": sub.title()}
    if sid is not None:
        claims["sid"] = sid
    response = dev_provider.sign_in(client, sub, **claims)
    assert (response.status_code, response["Location"]) == (302, "/"), response.content
    return client


def is_signed_in(client: Client) -> bool:
    return client.get("/").wsgi_request.user.is_authenticated


def post_logout(token: str, client: Client | None = None):
    return (client or Client()).post(URL, {"logout_token": token})


def assert_refused(response, reason: str) -> None:
    assert response.status_code == 400, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == "invalid_request"
    assert reason in body["error_description"], body


# --- what a sign-in records -------------------------------------------------------------------------


def test_a_sign_in_records_the_session_with_the_provider_session_id(dev_provider):
    client = signed_in(dev_provider, "rec-1", sid="op-session-1")

    record = BrowserSession.objects.get(user__sub="rec-1")
    assert record.session_key == client.session.session_key
    assert record.sid == "op-session-1"


def test_signing_in_again_in_the_same_browser_takes_the_new_provider_session(dev_provider):
    client = signed_in(dev_provider, "rec-2", sid="op-old")
    key = client.session.session_key

    dev_provider.sign_in(client, "rec-2", email="rec-2@example.com", sid="op-new")

    assert client.session.session_key == key
    assert list(BrowserSession.objects.filter(user__sub="rec-2").values_list("sid", flat=True)) == ["op-new"]


def test_signing_out_forgets_the_session(dev_provider):
    client = signed_in(dev_provider, "rec-3", sid="op-3")

    client.post("/oidc/logout/")

    assert not BrowserSession.objects.filter(user__sub="rec-3").exists()


# --- what a logout token ends -----------------------------------------------------------------------


def test_a_logout_token_with_a_sid_ends_that_session_only(dev_provider):
    laptop = signed_in(dev_provider, "ada-sid", sid="op-laptop")
    phone = signed_in(dev_provider, "ada-sid", sid="op-phone")
    laptop_key = laptop.session.session_key

    response = post_logout(dev_provider.logout_token(sub="ada-sid", sid="op-laptop"))

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.content == b""
    assert not is_signed_in(laptop)
    assert is_signed_in(phone)
    assert not session_store().exists(laptop_key)
    assert list(BrowserSession.objects.values_list("sid", flat=True)) == ["op-phone"]


def test_a_sid_alone_ends_the_sessions_opened_from_that_provider_session(dev_provider):
    laptop = signed_in(dev_provider, "ada-sid-only", sid="op-laptop-2")
    phone = signed_in(dev_provider, "ada-sid-only", sid="op-phone-2")

    response = post_logout(dev_provider.logout_token(sid="op-laptop-2"))

    assert response.status_code == 200
    assert (is_signed_in(laptop), is_signed_in(phone)) == (False, True)


def test_a_sub_only_logout_token_ends_every_session_of_that_user_and_nobody_elses(dev_provider):
    laptop = signed_in(dev_provider, "ada-all", sid="op-a1")
    phone = signed_in(dev_provider, "ada-all", sid="op-a2")
    grace = signed_in(dev_provider, "grace-all", sid="op-g1")

    response = post_logout(dev_provider.logout_token(sub="ada-all"))

    assert response.status_code == 200
    assert (is_signed_in(laptop), is_signed_in(phone), is_signed_in(grace)) == (False, False, True)
    assert list(BrowserSession.objects.values_list("user__sub", flat=True)) == ["grace-all"]


def test_a_sid_of_another_user_ends_nothing(dev_provider):
    ada = signed_in(dev_provider, "ada-mismatch", sid="op-m1")
    signed_in(dev_provider, "grace-mismatch", sid="op-m2")

    response = post_logout(dev_provider.logout_token(sub="grace-mismatch", sid="op-m1"))

    assert response.status_code == 200
    assert is_signed_in(ada)
    assert BrowserSession.objects.count() == 2


def test_a_logout_for_someone_without_sessions_succeeds(dev_provider):
    response = post_logout(dev_provider.logout_token(sub="never-signed-in"))

    assert response.status_code == 200


def test_the_provider_needs_neither_a_session_nor_a_csrf_token(dev_provider):
    ada = signed_in(dev_provider, "ada-csrf", sid="op-c")
    provider = Client(enforce_csrf_checks=True)

    response = provider.post(URL, {"logout_token": dev_provider.logout_token(sub="ada-csrf")})

    assert response.status_code == 200
    assert not is_signed_in(ada)


def test_a_keycloak_logout_token_with_a_kid_ends_the_users_sessions(keycloak_issuer, make_user):
    user = make_user(sub="kc-user")
    browser = Client()
    browser.force_login(user)

    response = post_logout(keycloak_issuer.logout_token(sub="kc-user", sid="kc-session"))
    assert response.status_code == 200
    assert is_signed_in(browser)  # its session came from no such sid (a password sign-in)

    response = post_logout(keycloak_issuer.logout_token(sub="kc-user"))
    assert response.status_code == 200
    assert not is_signed_in(browser)


@pytest.mark.parametrize(
    "engine",
    [
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cache",
        "django.contrib.sessions.backends.cached_db",
        "django.contrib.sessions.backends.file",
    ],
)
def test_sessions_end_whatever_the_session_engine(engine, settings, tmp_path, dev_provider):
    settings.SESSION_ENGINE = engine
    settings.SESSION_FILE_PATH = str(tmp_path)
    ada = signed_in(dev_provider, "ada-engine", sid="op-e1")
    grace = signed_in(dev_provider, "grace-engine", sid="op-e2")
    key = ada.session.session_key
    assert session_store().exists(key)

    response = post_logout(dev_provider.logout_token(sub="ada-engine"))

    assert response.status_code == 200
    assert not session_store().exists(key)
    assert (is_signed_in(ada), is_signed_in(grace)) == (False, True)


# --- refusals: 400, and nothing ended ---------------------------------------------------------------


def _unsigned(header: dict, claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


def _another_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


REFUSALS = {
    "nonce": (lambda p: p.logout_token(sub="victim", nonce="n-1"), "must not carry a nonce"),
    "wrong aud": (lambda p: p.logout_token(sub="victim", aud="another-client"), "another audience"),
    "wrong iss": (lambda p: p.logout_token(sub="victim", iss="https://evil.example"), "another issuer"),
    "old iat": (
        lambda p: p.logout_token(sub="victim", iat=int(time.time()) - 400, exp=int(time.time()) + 60),
        "at most 300 s are accepted",
    ),
    "future iat": (lambda p: p.logout_token(sub="victim", iat=int(time.time()) + 400), "not valid yet"),
    "expired": (lambda p: p.logout_token(sub="victim", exp=int(time.time()) - 60), "expired"),
    "no iat": (lambda p: p.logout_token(sub="victim", iat=None), '"iat"'),
    "no events": (lambda p: p.logout_token(sub="victim", events=None), "events claim"),
    "other event": (
        lambda p: p.logout_token(sub="victim", events={"http://schemas.openid.net/event/other": {}}),
        "events claim",
    ),
    "events not an object": (
        lambda p: p.logout_token(sub="victim", events=[BACKCHANNEL_LOGOUT_EVENT]),
        "events",
    ),
    "event not an object": (
        lambda p: p.logout_token(sub="victim", events={BACKCHANNEL_LOGOUT_EVENT: "yes"}),
        "must be a JSON object",
    ),
    "no sub nor sid": (lambda p: p.logout_token(), "a sub, a sid or both"),
    "empty sub": (lambda p: p.logout_token(sub=""), "sub must be a string"),
    "no jti": (lambda p: p.logout_token(sub="victim", jti=None), '"jti"'),
    "typ of an access token": (
        lambda p: p.logout_token(sub="victim", headers={"typ": "at+jwt"}),
        "not a logout token",
    ),
    "typ JWT": (lambda p: p.logout_token(sub="victim", headers={"typ": "JWT"}), "not a logout token"),
    "alg none": (
        lambda p: _unsigned({"alg": "none", "typ": "logout+jwt"}, {"iss": p.url, "sub": "victim"}),
        "'none' is not accepted",
    ),
    "HS256": (
        lambda p: p.logout_token(sub="victim", key="a-shared-secret-an-attacker-guessed-0123", alg="HS256"),
        "'HS256' is not accepted",
    ),
    "another key": (lambda p: p.logout_token(sub="victim", key=_another_key()), "signature is invalid"),
    "garbage": (lambda p: "garbage", "malformed"),
    "three garbage parts": (lambda p: "a.b.c", "malformed"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_bad_logout_token_is_refused_and_ends_nothing(case, dev_provider, caplog):
    make_token, reason = REFUSALS[case]
    victim = signed_in(dev_provider, "victim", sid="op-victim")
    # Built after the sign-in, which changed no key: the provider's key is what it signed with.
    token = make_token(dev_provider)

    with caplog.at_level(logging.WARNING, logger="aether.oidc"):
        response = post_logout(token)

    assert_refused(response, reason)
    assert is_signed_in(victim)
    assert BrowserSession.objects.filter(user__sub="victim").count() == 1
    assert not ConsumedLogoutToken.objects.exists()
    refusal = next(r for r in caplog.records if r.getMessage() == "back-channel logout refused")
    assert reason.strip('"') in refusal.reason


def test_an_id_token_is_not_a_logout_token(dev_provider):
    victim = signed_in(dev_provider, "victim-id", sid="op-id")
    id_token = victim.session["oidc_id_token"]

    response = post_logout(id_token)

    # Its header says "JWT"; were it untyped, its nonce and its missing event would refuse it.
    assert_refused(response, "is not a logout token")
    assert is_signed_in(victim)


@pytest.mark.parametrize(
    "data",
    [{}, {"logout_token": ""}, {"logout_token": ["one", "two"]}, {"logout_token": "x" * 20_000}],
    ids=["missing", "empty", "twice", "too long"],
)
def test_a_request_without_one_sensible_logout_token_is_refused(data, dev_provider):
    response = Client().post(URL, data)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_replayed_logout_token_is_refused_and_ends_nothing(dev_provider):
    signed_in(dev_provider, "ada-replay", sid="op-r1")
    token = dev_provider.logout_token(sub="ada-replay")
    assert post_logout(token).status_code == 200
    # Ada signs in again: the replay must not end this new session.
    again = signed_in(dev_provider, "ada-replay", sid="op-r2")

    response = post_logout(token)

    assert_refused(response, "used before")
    assert is_signed_in(again)
    assert ConsumedLogoutToken.objects.count() == 1


def test_a_jti_is_remembered_as_long_as_its_token_could_be_accepted(dev_provider):
    issued = int(time.time())
    post_logout(dev_provider.logout_token(sub="ada-expiry", iat=issued, jti="jti-expiry"))

    remembered = ConsumedLogoutToken.objects.get(jti="jti-expiry")
    # 300 s of age plus 30 s of clock skew.
    assert remembered.expires_at.timestamp() == issued + 330


def test_jtis_past_their_expiry_are_forgotten_at_the_next_logout(dev_provider):
    ConsumedLogoutToken.objects.create(jti="old", expires_at=timezone.now() - timezone.timedelta(seconds=1))
    ConsumedLogoutToken.objects.create(
        jti="recent", expires_at=timezone.now() + timezone.timedelta(minutes=4)
    )

    post_logout(dev_provider.logout_token(sub="ada-prune"))

    assert not ConsumedLogoutToken.objects.filter(jti="old").exists()
    assert ConsumedLogoutToken.objects.filter(jti="recent").exists()
    assert ConsumedLogoutToken.objects.count() == 2  # "recent" and the token just used


def test_a_token_whose_keys_cannot_be_fetched_is_answered_503_and_ends_nothing(keycloak_issuer, make_user):
    user = make_user(sub="kc-down")
    browser = Client()
    browser.force_login(user)
    keycloak_issuer.down = True

    response = post_logout(keycloak_issuer.logout_token(sub="kc-down"))

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["error"] == "temporarily_unavailable"
    assert is_signed_in(browser)
    assert not ConsumedLogoutToken.objects.exists()


def test_without_oidc_issuer_every_logout_token_is_refused(settings):
    settings.OIDC_ISSUER = ""

    response = post_logout("a.b.c")

    assert_refused(response, "OIDC_ISSUER is not set")


def test_only_post_is_accepted(dev_provider):
    response = Client().get(URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
