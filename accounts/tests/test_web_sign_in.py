"""Browser sign-in (authorization code, PKCE, nonce) against the running development provider.

Django's test client plays the browser here; the one Chromium test is in test_browser_sign_in.py.
"""

import socket
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client

from accounts.backends import OIDCBackend
from accounts.models import User
from onboarding.models import OnboardingRun, OnboardingStatus, UserOnboarding

pytestmark = pytest.mark.django_db

DOCUMENTS = ("Welcome to Aether.txt", "Quick Start Guide.txt", "Sample FAQ.txt")


def closed_port_url() -> str:
    """A loopback URL nobody listens on: an unreachable provider."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def signed_in_user(client) -> User | None:
    user = client.get("/").wsgi_request.user
    return user if user.is_authenticated else None


def test_the_sign_in_request_carries_state_nonce_and_a_pkce_challenge(client, dev_provider):
    response = client.get("/oidc/authenticate/")

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    params = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{dev_provider.url}/oauth2/authorize"
    assert params["client_id"] == ["aether-test"]
    assert params["scope"] == ["openid email profile"]
    assert params["code_challenge_method"] == ["S256"]
    assert params["code_challenge"][0] and params["nonce"][0] and params["state"][0]


def test_a_first_sign_in_creates_the_user_onboards_them_and_lands_on_the_dashboard(client, dev_provider):
    response = dev_provider.sign_in(
        client, "grace-1", email="grace@example.com", name="Grace Hopper", preferred_username="grace"
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(sub="grace-1")
    assert (user.email, user.full_name, user.username) == ("grace@example.com", "Grace Hopper", "grace")
    page = client.get("/").content.decode()
    assert "Getting Started" in page
    assert all(name in page for name in DOCUMENTS)
    assert "Personal Assistant" in page
    assert OnboardingRun.objects.get(user=user).trigger == "login"


def test_claims_are_mapped_again_at_every_sign_in(client, dev_provider):
    dev_provider.sign_in(client, "map-1", email="old@example.com", given_name="Ada", family_name="Byron")
    client.post("/oidc/logout/")

    dev_provider.sign_in(
        client, "map-1", email="new@example.com", name="Ada Lovelace", preferred_username="ada"
    )

    user = User.objects.get(sub="map-1")
    assert (user.email, user.full_name, user.username) == ("new@example.com", "Ada Lovelace", "ada")
    assert User.objects.filter(sub="map-1").count() == 1


def test_a_known_email_with_a_new_sub_never_signs_into_the_existing_account(client, dev_provider, make_user):
    existing = make_user(sub="original-sub", email="shared@example.com", full_name="Original Owner")

    dev_provider.sign_in(client, "newcomer-sub", email="shared@example.com", name="Someone Else")

    signed_in = signed_in_user(client)
    assert signed_in is not None
    assert signed_in.pk != existing.pk
    assert signed_in.sub == "newcomer-sub"
    existing.refresh_from_db()
    assert (existing.sub, existing.full_name) == ("original-sub", "Original Owner")


def test_a_failing_onboarding_lets_the_user_in_and_the_next_sign_in_completes_it(
    client, dev_provider, fail_step, monkeypatch
):
    # Failure injection: the agent step does its real work, then fails as a broken database would.
    fail_step("agent")

    response = dev_provider.sign_in(client, "flaky-1", email="flaky@example.com", name="Flaky")

    assert response.status_code == 302 and response["Location"] == "/"
    user = signed_in_user(client)
    assert user is not None and user.sub == "flaky-1"
    assert UserOnboarding.objects.get(user=user).status == OnboardingStatus.FAILED

    monkeypatch.undo()
    client.post("/oidc/logout/")
    dev_provider.sign_in(client, "flaky-1")

    assert UserOnboarding.objects.get(user=user).status == OnboardingStatus.COMPLETED
    assert list(
        OnboardingRun.objects.filter(user=user).order_by("started_at").values_list("status", flat=True)
    ) == [
        "failed",
        "completed",
    ]
    assert "Personal Assistant" in client.get("/").content.decode()


def test_staff_and_superuser_roles_follow_the_provider_at_every_sign_in(client, dev_provider, settings):
    settings.OIDC_STAFF_ROLES = ["aether-staff"]
    settings.OIDC_SUPERUSER_ROLES = ["aether-admin"]

    dev_provider.sign_in(client, "role-1", email="r@example.com", realm_access={"roles": ["aether-staff"]})
    user = User.objects.get(sub="role-1")
    assert (user.is_staff, user.is_superuser) == (True, False)

    client.post("/oidc/logout/")
    dev_provider.sign_in(
        client, "role-1", email="r@example.com", resource_access={"aether-test": {"roles": ["aether-admin"]}}
    )
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (True, True)

    client.post("/oidc/logout/")
    dev_provider.sign_in(client, "role-1", email="r@example.com", realm_access={"roles": []})
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (False, False)


def test_roles_are_left_alone_when_no_role_setting_is_configured(client, dev_provider, make_user):
    make_user(sub="keep-1", email="k@example.com", is_staff=True)

    dev_provider.sign_in(client, "keep-1", email="k@example.com", realm_access={"roles": []})

    assert User.objects.get(sub="keep-1").is_staff is True


def test_sign_out_ends_the_session_here_and_at_the_provider(client, dev_provider):
    dev_provider.sign_in(client, "bye-1", email="bye@example.com")
    id_token = client.session["oidc_id_token"]

    response = client.post("/oidc/logout/")

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{dev_provider.url}/oauth2/end_session"
    params = parse_qs(location.query)
    assert params["id_token_hint"] == [id_token]
    assert params["post_logout_redirect_uri"] == ["http://testserver/"]
    assert signed_in_user(client) is None
    # The provider accepts the request and offers to send the browser back to Aether.
    provider_page = requests.get(response["Location"], timeout=10)
    assert provider_page.status_code == 200
    assert "http://testserver/" in provider_page.text


def test_signing_out_needs_a_post(client, dev_provider):
    dev_provider.sign_in(client, "get-1", email="get@example.com")

    assert client.get("/oidc/logout/").status_code == 405
    assert signed_in_user(client) is not None


def test_a_refusal_at_the_provider_shows_a_friendly_page(client, dev_provider):
    start = client.get("/oidc/authenticate/")
    denied = requests.post(start["Location"], data={"action": "deny"}, allow_redirects=False, timeout=10)
    callback = urlsplit(denied.headers["Location"])
    assert parse_qs(callback.query)["error"] == ["access_denied"]

    response = client.get(f"{callback.path}?{callback.query}")

    assert response.status_code == 400
    page = response.content.decode()
    assert "Sign-in failed" in page
    assert "cancelled or refused at the identity provider" in page
    assert 'href="/oidc/authenticate/"' in page
    assert signed_in_user(client) is None


def test_an_unknown_error_from_the_provider_is_named_and_escaped(client, dev_provider):
    response = client.get("/oidc/callback/?error=%3Cscript%3Ebad&state=nope")

    assert response.status_code == 400
    assert "<script>bad" not in response.content.decode()
    assert "&lt;script&gt;bad" in response.content.decode()


def test_an_unreachable_provider_at_sign_in_shows_a_friendly_page(client, settings):
    settings.OIDC_ISSUER = closed_port_url()
    settings.OIDC_CLIENT_ID = "aether-test"

    response = client.get("/oidc/authenticate/")

    assert response.status_code == 503
    assert "The identity provider cannot be reached" in response.content.decode()


def test_a_provider_that_goes_away_during_sign_in_shows_a_friendly_page(client, dev_provider, settings):
    start = client.get("/oidc/authenticate/")
    callback = urlsplit(dev_provider.authorize(start["Location"], "gone-1"))
    # The override setting points the code exchange at a port nobody listens on.
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{closed_port_url()}/token"

    response = client.get(f"{callback.path}?{callback.query}")

    assert response.status_code == 503
    assert "The identity provider cannot be reached" in response.content.decode()
    assert not User.objects.filter(sub="gone-1").exists()


def test_a_callback_this_browser_did_not_ask_for_is_refused_politely(client, dev_provider):
    client.get("/oidc/authenticate/")

    response = client.get("/oidc/callback/?code=stolen&state=forged")

    assert response.status_code == 400
    assert "This sign-in link has expired" in response.content.decode()
    assert signed_in_user(client) is None


def test_without_an_issuer_sign_in_says_it_is_not_configured(client, settings):
    settings.OIDC_ISSUER = ""

    response = client.get("/oidc/authenticate/")

    assert response.status_code == 503
    page = response.content.decode()
    assert "Sign-in is not configured" in page
    assert "OIDC_ISSUER" in page


def test_the_admin_password_login_still_works_for_a_superuser_without_sub(client, dev_provider):
    User.objects.create_superuser(username="root", email="root@example.com", password="a-long-password")

    response = client.post(
        "/admin/login/?code=x&state=y",
        {"username": "root", "password": "a-long-password", "next": "/admin/"},
    )

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_keycloak_roles_are_read_from_a_jwt_access_token_at_browser_sign_in(keycloak_issuer):
    token = keycloak_issuer.access_token("kc-browser", realm_access={"roles": ["aether-staff"]})

    roles = OIDCBackend._access_token_roles(token)

    assert roles["realm_access"] == {"roles": ["aether-staff"]}
    assert OIDCBackend._access_token_roles("opaque-token") == {}
    assert OIDCBackend._access_token_roles(keycloak_issuer.access_token("kc-browser", azp="other")) == {}


def test_a_disabled_user_is_signed_out_at_their_next_request(client, dev_provider):
    dev_provider.sign_in(client, "off-1", email="off@example.com")
    assert signed_in_user(client) is not None

    User.objects.filter(sub="off-1").update(is_active=False)

    assert signed_in_user(client) is None
    assert 'href="/oidc/authenticate/"' in client.get("/").content.decode()


def test_a_code_the_provider_refuses_is_a_failed_sign_in_not_an_outage(client, dev_provider):
    start = client.get("/oidc/authenticate/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]

    # A code the provider never issued: its token endpoint answers 400 invalid_grant.
    response = client.get(f"/oidc/callback/?code=never-issued&state={state}")

    assert response.status_code == 400
    assert "Sign-in failed" in response.content.decode()
    assert signed_in_user(client) is None


def test_an_error_link_this_browser_did_not_ask_for_does_not_sign_out(client, dev_provider):
    dev_provider.sign_in(client, "stay-1", email="stay@example.com")

    response = client.get("/oidc/callback/?error=access_denied&state=sent-by-someone-else")

    assert response.status_code == 400
    assert "Sign-in failed" in response.content.decode()
    assert signed_in_user(client) is not None
    no_state = client.get("/oidc/callback/?error=access_denied")
    assert no_state.status_code == 400
    assert signed_in_user(client) is not None


def test_no_setting_of_the_library_is_left_that_nothing_reads(settings):
    # Endpoints, client and keys come from accounts.oidc: a stale copy in settings would mislead.
    for name in ("OIDC_RP_CLIENT_ID", "OIDC_RP_CLIENT_SECRET", "OIDC_RP_SIGN_ALGO"):
        assert not hasattr(settings, name), name
    backend = OIDCBackend()
    assert not hasattr(backend, "OIDC_RP_SIGN_ALGO")
    assert not hasattr(backend, "OIDC_RP_IDP_SIGN_KEY")


def test_a_sub_with_url_characters_gets_its_claims_at_the_provider(client, dev_provider):
    dev_provider.sign_in(client, "who?what #1", email="odd@example.com")

    assert User.objects.get(sub="who?what #1").email == "odd@example.com"


def test_userinfo_about_another_subject_is_refused(dev_provider, make_user):
    # OpenID Connect Core 5.3.4: the access token is someone else's than the ID token's sub.
    others_token = dev_provider.access_token("userinfo-other")

    user = OIDCBackend().get_or_create_user(others_token, "", {"sub": "userinfo-me"})

    assert user is None
    assert not User.objects.filter(sub__in=["userinfo-me", "userinfo-other"]).exists()


def test_a_next_url_on_another_site_lands_on_the_home_page(client, dev_provider):
    start = client.get("/oidc/authenticate/?next=https://evil.example/phish")
    callback = urlsplit(dev_provider.authorize(start["Location"], "next-1"))

    response = client.get(f"{callback.path}?{callback.query}")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user(client).sub == "next-1"


def test_a_local_next_url_is_followed(client, dev_provider):
    start = client.get("/oidc/authenticate/?next=/api/v1/docs")
    callback = urlsplit(dev_provider.authorize(start["Location"], "next-2"))

    assert client.get(f"{callback.path}?{callback.query}")["Location"] == "/api/v1/docs"


def test_signing_out_without_the_csrf_token_is_refused(dev_provider):
    browser = Client(enforce_csrf_checks=True)
    dev_provider.sign_in(browser, "csrf-1", email="csrf@example.com")

    response = browser.post("/oidc/logout/")

    assert response.status_code == 403
    assert signed_in_user(browser) is not None
