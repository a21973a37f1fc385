"""The sign-in paths: a returning bearer call, the first bearer call of a new ``sub``, the web callback.

Every request goes through Django's own handler in this process (``django.test.Client``: every
middleware, no network, no second process), with production settings, so what is compared is the
application's own work. Each pair of figures is measured in turns, so whatever else the machine is
doing weighs on both alike.

* **Returning bearer call**: ``GET /api/v1/users/me`` with a JWT access token of a known, onboarded user,
  against the same route with that user's session cookie. A Keycloak-shaped issuer on loopback publishes
  the signing key; its key set is fetched once and cached, as in production. Targets: the bearer call
  sends at most one statement more than the session call (``CaptureQueriesContext``), and its median is
  at most the session call's (ratio <= 1.0).
* **First bearer call of a new sub**: the same route with a JWT of a ``sub`` never seen, which creates the
  user and runs the first onboarding. What it adds over a returning bearer call (difference of the
  medians) is compared with the raw-SQL floor of a first onboarding (``floor.py``), taken in the same
  turns. Target: at most 4x the floor.
* **Web callback**: ``GET /oidc/callback/`` with a fresh authorization code of the development provider
  (``oidc-provider-mock``, a process of its own on a free loopback port), for a new user (the user is
  created and onboarded) and for a returning one. The callback exchanges the code at the provider and
  reads its userinfo, the same in both legs; ``new / returning`` is the median of the first over the
  median of the second, so what exceeds 1 is the application's extra work for a new user. The provider's
  login form that gives the code is not timed. Target: at most 1.25.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from floor import Floor, blueprint_values
from loopback import HOST, free_port, wait_until_answering
from scratch import new_users
from table import Row, at_most, info, median

RATIO_TARGET = 1.0
EXTRA_STATEMENTS = 1
FIRST_CALL_FLOOR_TARGET = 4.0
CALLBACK_TARGET = 1.25
ROUTE = "/api/v1/users/me"


@dataclass(frozen=True)
class Sizes:
    returning_users: int  # known users the returning calls take turns among
    returning_rounds: int  # bearer and session calls, one of each per round
    first_calls: int  # new subs (and as many floor onboardings)
    callbacks: int  # new-user callbacks (and as many returning ones)
    warm_up: int


FULL = Sizes(returning_users=50, returning_rounds=600, first_calls=120, callbacks=80, warm_up=10)
TINY = Sizes(returning_users=2, returning_rounds=4, first_calls=3, callbacks=3, warm_up=1)


def client():
    from django.test import Client

    return Client(HTTP_HOST=HOST)


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return (time.perf_counter() - started) * 1000, result


def statements(action) -> tuple[int, object]:
    """How many SQL statements ``action()`` sent, and what it answered."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        result = action()
    return len(queries), result


def me(api, token: str | None = None) -> dict:
    """``GET /api/v1/users/me``, with a bearer token or the client's session; fails loudly unless 200."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = api.get(ROUTE, **headers)
    if response.status_code != 200:
        raise RuntimeError(f"{ROUTE} answered {response.status_code}: {response.content[:300]!r}")
    return response.json()


# --- bearer calls ------------------------------------------------------------------------------------


def access_token(issuer, sub: str) -> str:
    """A JWT for ``sub`` valid for an hour: a run on a busy machine outlasts Keycloak's usual 5 minutes."""
    return issuer.access_token(sub, exp=int(time.time()) + 3600)


def bearer_rows(url: str, sizes: Sizes) -> list[Row]:
    from django.conf import settings

    from accounts.models import User
    from onboarding.selectors import blueprint_current
    from tests.signin import KeycloakIssuer, point_settings_at, serve_in_thread

    issuer = KeycloakIssuer()
    issuer.add_key()
    server = serve_in_thread(issuer.wsgi)
    issuer.base_url = server.url
    point_settings_at(settings, issuer.url)
    try:
        api = client()
        # Known users: their first call signed them up and onboarded them.
        subs = [f"bench-bearer-{uuid.uuid4().hex[:12]}" for _ in range(sizes.returning_users)]
        tokens = {sub: access_token(issuer, sub) for sub in subs}
        for sub in subs:
            if me(api, tokens[sub])["onboarding_status"] != "completed":
                raise RuntimeError(f"the first bearer call of {sub} did not complete onboarding")
        sessions = {}
        for sub in subs:
            sessions[sub] = client()
            sessions[sub].force_login(User.objects.get(sub=sub))

        sub = subs[0]
        jwt_statements, _ = statements(lambda: me(api, tokens[sub]))
        session_statements, _ = statements(lambda: me(sessions[sub]))

        jwt_ms, session_ms = [], []
        cpu_ms = {"jwt": 0.0, "session": 0.0}
        for number in range(sizes.warm_up + sizes.returning_rounds):
            sub = subs[number % len(subs)]
            calls = [
                ("jwt", lambda sub=sub: me(api, tokens[sub])),
                ("session", lambda sub=sub: me(sessions[sub])),
            ]
            if number % 2:
                calls.reverse()
            for name, call in calls:
                cpu_started = time.process_time()
                elapsed, _ = timed(call)
                if number >= sizes.warm_up:
                    (jwt_ms if name == "jwt" else session_ms).append(elapsed)
                    cpu_ms[name] += (time.process_time() - cpu_started) * 1000

        # First calls of new subs, in turns with a returning call and a floor onboarding.
        floor = Floor(url, blueprint_values(blueprint_current()))
        first_ms, returning_ms, floor_ms = [], [], []
        first_statements = None
        try:
            floor_users = new_users(sizes.warm_up + sizes.first_calls)
            for number, floor_user in enumerate(floor_users):
                new_sub = f"bench-first-{uuid.uuid4().hex[:12]}"
                token = access_token(issuer, new_sub)
                known = subs[number % len(subs)]
                if first_statements is None and number >= sizes.warm_up:
                    first_statements, _ = statements(lambda token=token: me(api, token))
                    # Counted, not timed; its floor user is onboarded all the same (no user is left
                    # incomplete for the benchmarks after this one).
                    floor.onboard(floor_user.pk, floor_user.display_name)
                    continue
                first, body = timed(lambda token=token: me(api, token))
                if body["onboarding_status"] != "completed":
                    raise RuntimeError(f"the first bearer call of {new_sub} did not complete onboarding")
                returning, _ = timed(lambda known=known: me(api, tokens[known]))
                floor_one, _ = timed(lambda u=floor_user: floor.onboard(u.pk, u.display_name))
                if number >= sizes.warm_up:
                    first_ms.append(first)
                    returning_ms.append(returning)
                    floor_ms.append(floor_one)
        finally:
            floor.close()
    finally:
        server.stop()

    jwt, session = median(jwt_ms), median(session_ms)
    first, returning, floor_median = median(first_ms), median(returning_ms), median(floor_ms)
    return [
        Row(
            "statements, returning bearer call (JWT) / with a session",
            f"{jwt_statements} / {session_statements}",
            f"<= session + {EXTRA_STATEMENTS}",
            jwt_statements <= session_statements + EXTRA_STATEMENTS,
        ),
        info("returning call median, JWT / session", f"{jwt:.2f} / {session:.2f} ms"),
        info(
            "CPU per returning call (this process), JWT / session",
            f"{cpu_ms['jwt'] / sizes.returning_rounds:.2f} / "
            f"{cpu_ms['session'] / sizes.returning_rounds:.2f} ms",
        ),
        at_most("returning call, JWT / session", jwt / session, RATIO_TARGET, "x", digits=2),
        info("statements, first bearer call of a new sub", str(first_statements)),
        info(
            "first bearer call / returning / raw-SQL floor, medians",
            f"{first:.2f} / {returning:.2f} / {floor_median:.2f} ms",
        ),
        at_most(
            "first bearer call minus returning, over the floor",
            (first - returning) / floor_median,
            FIRST_CALL_FLOOR_TARGET,
            "x",
            digits=2,
        ),
    ]


# --- the web callback --------------------------------------------------------------------------------


def start_provider() -> tuple[subprocess.Popen, str]:
    """The development provider in a process of its own, on a free loopback port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider_mock", "--host", HOST, "--port", str(port)],
        env={**os.environ, "AUTHLIB_INSECURE_TRANSPORT": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{HOST}:{port}"
    wait_until_answering(
        process, f"{url}/.well-known/openid-configuration", "the development OpenID provider"
    )
    return process, url


def callback_of(browser, provider: requests.Session, sub: str) -> str:
    """Start a sign-in as ``sub`` and log in at the provider: the callback URL it sends the browser to."""
    start = browser.get("/oidc/authenticate/")
    if start.status_code != 302:
        raise RuntimeError(f"/oidc/authenticate/ answered {start.status_code}")
    login = provider.post(start["Location"], data={"sub": sub}, allow_redirects=False, timeout=10)
    if login.status_code != 302:
        raise RuntimeError(f"the provider's login form answered {login.status_code}: {login.text[:300]}")
    callback = urlsplit(login.headers["Location"])
    return f"{callback.path}?{callback.query}"


def check_signed_in(browser, response) -> None:
    """The callback's answer sent the browser home, signed in."""
    if response.status_code != 302 or response["Location"] != "/" or "_auth_user_id" not in browser.session:
        raise RuntimeError(f"the callback did not sign in: {response.status_code} {response.get('Location')}")


def callback_rows(sizes: Sizes) -> list[Row]:
    from django.conf import settings

    from aether.devprovider import set_provider_user
    from onboarding.models import OnboardingStatus, UserOnboarding
    from tests.signin import point_settings_at

    process, provider_url = start_provider()
    point_settings_at(settings, provider_url)
    provider = requests.Session()
    try:
        returning_subs = [f"bench-web-{uuid.uuid4().hex[:12]}" for _ in range(sizes.warm_up)]
        for sub in returning_subs:
            set_provider_user(provider_url, sub, {"email": f"{sub}@example.com", "name": "Web Bench"})
            browser = client()
            check_signed_in(browser, browser.get(callback_of(browser, provider, sub)))

        new_ms, returning_ms = [], []
        new_statements = returning_statements = None
        for number in range(sizes.warm_up + sizes.callbacks + 1):
            new_sub = f"bench-web-{uuid.uuid4().hex[:12]}"
            set_provider_user(provider_url, new_sub, {"email": f"{new_sub}@example.com", "name": "Web Bench"})
            legs = [("new", new_sub), ("returning", returning_subs[number % len(returning_subs)])]
            if number % 2:
                legs.reverse()
            for leg, sub in legs:
                browser = client()
                path = callback_of(browser, provider, sub)
                if number == sizes.warm_up:  # counted once, not timed
                    count, response = statements(lambda browser=browser, path=path: browser.get(path))
                    if leg == "new":
                        new_statements = count
                    else:
                        returning_statements = count
                    check_signed_in(browser, response)
                    continue
                elapsed, response = timed(lambda browser=browser, path=path: browser.get(path))
                check_signed_in(browser, response)
                if number > sizes.warm_up:
                    (new_ms if leg == "new" else returning_ms).append(elapsed)
            if not UserOnboarding.objects.filter(
                user__sub=new_sub, status=OnboardingStatus.COMPLETED
            ).exists():
                raise RuntimeError(f"the first sign-in of {new_sub} did not complete onboarding")
    finally:
        provider.close()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)

    new, returning = median(new_ms), median(returning_ms)
    return [
        info("statements, web callback, new / returning user", f"{new_statements} / {returning_statements}"),
        info("web callback median, new / returning user", f"{new:.2f} / {returning:.2f} ms"),
        at_most("web callback, new / returning user", new / returning, CALLBACK_TARGET, "x", digits=2),
    ]


def measure(url: str, tiny: bool) -> list[Row]:
    sizes = TINY if tiny else FULL
    return bearer_rows(url, sizes) + callback_rows(sizes)
