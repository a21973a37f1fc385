"""Test fixtures for sign-in, loaded by the root ``conftest.py``.

Nothing here is a fake of Aether: the OpenID provider is the real development provider
(``oidc-provider-mock``) on loopback, Keycloak-shaped JWTs come from a real key served as a real
discovery document and JWKS, and the browser is Debian's Chromium.

* ``dev_provider``: a running development provider with the settings pointed at it; it also signs
  back-channel logout tokens with its own key (``dev_provider.logout_token(...)``).
* ``keycloak_issuer``: an issuer of Keycloak-shaped JWT access tokens, the settings pointed at it.
* ``page``: a Playwright page in headless Chromium; a screenshot lands in ``test-artifacts/`` when
  the test fails. ``sign_in(page, live_server_url, sub=..., email=..., name=...)`` signs in through it.
"""

import copy
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import flask
import jwt
import oidc_provider_mock
import pytest
import requests
import werkzeug.serving
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.wrappers import Request, Response

from accounts import oidc
from accounts.tokens import BACKCHANNEL_LOGOUT_EVENT
from aether.devprovider import obtain_access_token, set_provider_user

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TEST_CLIENT_ID = "aether-test"
TEST_CLIENT_SECRET = "aether-test-secret"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class _Server:
    url: str
    server: werkzeug.serving.BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def serve_in_thread(app: Any) -> _Server:
    """Serve a WSGI app on a free loopback port in a daemon thread (one per xdist worker)."""
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    return _Server(url=f"http://127.0.0.1:{server.server_port}", server=server, thread=thread)


def logout_claims(issuer: str, /, **overrides: Any) -> dict[str, Any]:
    """A logout token's claims (Back-Channel Logout 1.0, 2.4) from ``issuer`` for the test client.

    ``overrides`` replace claims; an override of ``None`` leaves that claim out.
    """
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": TEST_CLIENT_ID,
        "iat": now,
        "exp": now + 120,
        "jti": uuid.uuid4().hex,
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        "typ": "Logout",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


# --- the development provider ----------------------------------------------------------------------


@dataclass
class DevProvider:
    """The running development provider and what tests do with it."""

    url: str
    app: flask.Flask
    client_id: str = TEST_CLIENT_ID
    client_secret: str = TEST_CLIENT_SECRET

    def signing_key(self) -> Any:
        """The provider's own private key, the one its JWKS publishes and its ID tokens are signed with.

        The provider runs in this process: its key is read from its storage, as its own request
        handlers read it.
        """
        with self.app.test_request_context():
            self.app.preprocess_request()  # sets flask.g.oidc_provider_mock_storage
            jwk = flask.g.oidc_provider_mock_storage.jwk.as_dict(is_private=True)
        return jwt.PyJWK(jwk, algorithm="RS256").key

    def logout_token(
        self, *, key: Any = None, alg: str = "RS256", headers: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        """A back-channel logout token signed by the provider's key (or ``key``), ``typ: logout+jwt``.

        ``claims`` go through ``logout_claims``: pass ``sub=...`` and/or ``sid=...``. Like the
        provider's ID tokens, the header names no ``kid``.
        """
        header = {"typ": "logout+jwt", **(headers or {})}
        signing_key = key if key is not None else self.signing_key()
        return jwt.encode(logout_claims(self.url, **claims), signing_key, algorithm=alg, headers=header)

    def set_user(self, sub: str, **claims: Any) -> None:
        """Set the claims the provider gives ``sub`` (``PUT /users/<sub>``); non-standard claims pass."""
        set_provider_user(self.url, sub, claims)

    def authorize(self, authorization_url: str, sub: str) -> str:
        """Sign in as ``sub`` at the provider's login form; return where it redirects the browser."""
        response = requests.post(authorization_url, data={"sub": sub}, allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    def sign_in(self, client: Any, sub: str, **claims: Any) -> Any:
        """Sign Django's test ``client`` in as ``sub`` through the real flow; return the callback's answer.

        With ``claims``, they are set at the provider first.
        """
        if claims:
            self.set_user(sub, **claims)
        start = client.get("/oidc/authenticate/")
        assert start.status_code == 302, start.content
        callback = urlsplit(self.authorize(start["Location"], sub))
        return client.get(f"{callback.path}?{callback.query}")

    def access_token(self, sub: str, *, redirect_uri: str = "http://127.0.0.1/oidc/callback/") -> str:
        """A real opaque access token for ``sub``, through an authorization-code exchange."""
        return obtain_access_token(
            self.url,
            sub,
            client_id=self.client_id,
            client_secret=self.client_secret,
            redirect_uri=redirect_uri,
        )


def point_settings_at(settings: Any, issuer: str) -> None:
    """Point ``OIDC_ISSUER``, the client and the CSP's form-action at ``issuer``, as start-up would."""
    settings.OIDC_ISSUER = issuer
    settings.OIDC_CLIENT_ID = TEST_CLIENT_ID
    settings.OIDC_CLIENT_SECRET = TEST_CLIENT_SECRET
    parts = urlsplit(issuer)
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] = ["'self'", f"{parts.scheme}://{parts.netloc}"]
    settings.CONTENT_SECURITY_POLICY = policy
    oidc.clear_cache()


@pytest.fixture(scope="session")
def _dev_provider_server() -> Iterator[tuple[str, flask.Flask]]:
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback
    app = oidc_provider_mock.app()
    server = serve_in_thread(app)
    yield server.url, app
    server.stop()


@pytest.fixture
def dev_provider(_dev_provider_server: tuple[str, flask.Flask], settings) -> Iterator[DevProvider]:
    """The development provider, with ``OIDC_ISSUER`` and the client pointed at it."""
    url, app = _dev_provider_server
    point_settings_at(settings, url)
    yield DevProvider(url=url, app=app)
    oidc.clear_cache()


# --- a Keycloak-shaped issuer of JWT access tokens -------------------------------------------------


@dataclass
class KeycloakIssuer:
    """Discovery and JWKS as Keycloak serves them, for a key this test holds; signs access tokens."""

    base_url: str = ""
    realm_path: str = "/realms/aether"
    client_id: str = TEST_CLIENT_ID
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    jwks_requests: int = 0
    discovery_requests: int = 0
    #: When true, every endpoint answers 503, as a provider being restarted does.
    down: bool = False
    #: When set, served as the JWKS instead of the keys above (a provider publishing junk).
    jwks_body: Any = None
    #: When true, the issuer is the realm URL with a trailing slash (as Auth0's is).
    trailing_slash: bool = False

    @property
    def url(self) -> str:
        return f"{self.base_url}{self.realm_path}"

    @property
    def issuer(self) -> str:
        """The ``iss`` of its tokens and the ``issuer`` of its discovery document."""
        return f"{self.url}/" if self.trailing_slash else self.url

    def add_key(self, kid: str | None = None) -> str:
        kid = kid or uuid.uuid4().hex[:12]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return kid

    @property
    def current_kid(self) -> str:
        return next(reversed(self.keys))

    def claims(self, sub: str, /, **overrides: Any) -> dict[str, Any]:
        """What Keycloak puts in an access token for this client, with ``overrides`` applied."""
        now = int(time.time())
        claims = {
            "exp": now + 300,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "iss": self.issuer,
            "aud": "account",
            "sub": sub,
            "typ": "Bearer",
            "azp": self.client_id,
            "scope": "openid email profile",
            "realm_access": {"roles": ["default-roles-aether", "offline_access"]},
            "resource_access": {"account": {"roles": ["manage-account"]}},
            "email": f"{sub}@example.com",
            "email_verified": True,
            "preferred_username": sub,
            "name": "Kay Cloak",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def sign(
        self, claims: dict[str, Any], *, kid: str | None = "", key: Any = None, alg: str = "RS256"
    ) -> str:
        """Sign ``claims``; ``kid=""`` means the current key, ``kid=None`` leaves the header without one."""
        kid = self.current_kid if kid == "" else kid
        headers = {"typ": "JWT", **({"kid": kid} if kid is not None else {})}
        signing_key = key if key is not None else self.keys[kid or self.current_kid]
        return jwt.encode(claims, signing_key, algorithm=alg, headers=headers)

    def access_token(self, sub: str, /, **overrides: Any) -> str:
        return self.sign(self.claims(sub, **overrides))

    def logout_token(self, **claims: Any) -> str:
        """A logout token as Keycloak sends one (``typ: logout+jwt``, a ``kid``), by the current key."""
        kid = self.current_kid
        return jwt.encode(
            logout_claims(self.issuer, aud=self.client_id, **claims),
            self.keys[kid],
            algorithm="RS256",
            headers={"typ": "logout+jwt", "kid": kid},
        )

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, private_key in self.keys.items():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        oidc_base = f"{self.url}/protocol/openid-connect"
        if self.down:
            return Response("unavailable", status=503)(environ, start_response)
        if request.path == f"{self.realm_path}/.well-known/openid-configuration":
            self.discovery_requests += 1
            body = {
                "issuer": self.issuer,
                "authorization_endpoint": f"{oidc_base}/auth",
                "token_endpoint": f"{oidc_base}/token",
                "userinfo_endpoint": f"{oidc_base}/userinfo",
                "end_session_endpoint": f"{oidc_base}/logout",
                "jwks_uri": f"{oidc_base}/certs",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        elif request.path == f"{self.realm_path}/protocol/openid-connect/certs":
            self.jwks_requests += 1
            body = self.jwks() if self.jwks_body is None else self.jwks_body
        elif request.path == f"{self.realm_path}/protocol/openid-connect/userinfo":
            # Keycloak's answer to a token it did not issue.
            return Response(json.dumps({"error": "invalid_token"}), status=401)(environ, start_response)
        else:
            return Response("not found", status=404)(environ, start_response)
        return Response(json.dumps(body), content_type="application/json")(environ, start_response)


@pytest.fixture
def keycloak_issuer(settings) -> Iterator[KeycloakIssuer]:
    """A Keycloak-shaped issuer with one signing key, ``OIDC_ISSUER`` and the client pointed at it."""
    issuer = KeycloakIssuer()
    issuer.add_key()
    server = serve_in_thread(issuer.wsgi)
    issuer.base_url = server.url
    point_settings_at(settings, issuer.url)
    yield issuer
    oidc.clear_cache()
    server.stop()


# --- the browser -----------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    item.stash.setdefault(_failed_key, False)
    if report.when == "call" and report.failed:
        item.stash[_failed_key] = True
    return report


_failed_key = pytest.StashKey[bool]()


def require_chromium() -> None:
    """Skip a browser test when Chromium is missing on a developer's machine; fail it in CI.

    The same rule as the ``postgres`` marker: CI (``CI=true``) must run every test.
    """
    if os.access(CHROMIUM, os.X_OK):
        return
    message = (
        f"the browser tests need Chromium at {CHROMIUM}: "
        "run 'sudo apt-get install -y chromium chromium-driver'"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def _chromium() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM, used by the test
    # itself, would otherwise refuse to run next to it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, _chromium: Any) -> Iterator[Any]:
    """A fresh browser context and page; a failing test leaves a screenshot in ``test-artifacts/``."""
    context = _chromium.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    if request.node.stash.get(_failed_key, False):
        ARTIFACTS.mkdir(exist_ok=True)
        name = request.node.nodeid.replace("/", "_").replace("::", "__")
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


def sign_in(page: Any, live_server_url: str, *, sub: str, email: str, name: str, **claims: Any) -> None:
    """Sign in through the real flow: home page, "Sign in", the provider's form, back to Aether.

    The claims are set at the provider first (the provider is ``settings.OIDC_ISSUER``); extra
    ``claims`` (a ``sid``, say) land in the ID token too.
    """
    from django.conf import settings

    set_provider_user(settings.OIDC_ISSUER, sub, {"email": email, "name": name, **claims})
    page.goto(f"{live_server_url}/")
    page.get_by_role("link", name="Sign in").click()
    page.wait_for_url(f"{settings.OIDC_ISSUER}/**")
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{live_server_url}/")
