"""Throttle counts are shared: two gunicorn instances on loopback, one database, requests alternating.

Each instance is a real gunicorn (one worker) serving this test's PostgreSQL database, its rates set
through its environment; bearer tokens come from the Keycloak-shaped test issuer on loopback. Rates are
per day, so that a few seconds of requests never straddle enough of a window to change a count.
"""

import time
from collections.abc import Callable

import pytest
import requests

from tests.gunicorn import GunicornServer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

A_DAY = 86400
RATES = {
    "API_THROTTLE": "6/day",
    "ONBOARDING_RETRY_THROTTLE": "3/day",
    "AUTH_FAILURE_THROTTLE": "3/day",
    # One proxy: the test's requests stand in for it, with or without X-Forwarded-For.
    "TRUSTED_PROXY_COUNT": "1",
}


@pytest.fixture
def replicas(keycloak_issuer, start_gunicorn) -> tuple[GunicornServer, GunicornServer]:
    return start_gunicorn(workers=1, **RATES), start_gunicorn(workers=1, **RATES)


def alternating(
    replicas: tuple[GunicornServer, GunicornServer], count: int, send: Callable[[str], requests.Response]
) -> list[requests.Response]:
    """``send(url)`` ``count`` times, to one instance and then the other."""
    return [send(replicas[number % 2].url) for number in range(count)]


def expected_retry_after(limit: int, sent_at: float) -> float:
    """What Retry-After must say after ``limit`` requests at ``sent_at`` within one window of a day.

    The next request fits in the next window, once the served ones weigh ``limit - 1``.
    """
    elapsed = (sent_at % A_DAY) / A_DAY
    return (1 - elapsed + 1 - (limit - 1) / limit) * A_DAY


def assert_throttled(answer: requests.Response, limit: int, sent_at: float) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    assert "throttled" in answer.json()["detail"] or "failed authentications" in answer.json()["detail"]
    assert answer.headers["Retry-After"].isdigit()
    retry_after, now = int(answer.headers["Retry-After"]), time.time()
    if sent_at // A_DAY == now // A_DAY:
        # Refused at some moment between the first request and now: the later, the shorter the wait.
        assert expected_retry_after(limit, now) - 1 <= retry_after <= expected_retry_after(limit, sent_at) + 1
    else:
        # Midnight (UTC) fell within the requests: counted exactly all the same, the wait is the new day's.
        assert 0 < retry_after <= 2 * A_DAY


def bearer(keycloak_issuer, sub: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keycloak_issuer.access_token(sub)}"}


def test_the_retry_route_is_counted_per_user_across_both(replicas, keycloak_issuer):
    ada = bearer(keycloak_issuer, "ada-throttle")
    sent_at = time.time()

    answers = alternating(
        replicas,
        5,
        lambda url: requests.post(f"{url}/api/v1/users/me/onboarding/retry", headers=ada, timeout=30),
    )

    assert [answer.status_code for answer in answers[:3]] == [200, 200, 200]
    assert_throttled(answers[3], 3, sent_at)
    assert_throttled(answers[4], 3, sent_at)
    grace = bearer(keycloak_issuer, "grace-throttle")
    other = requests.post(f"{replicas[1].url}/api/v1/users/me/onboarding/retry", headers=grace, timeout=30)
    assert other.status_code == 200


def test_every_api_route_is_counted_per_user_across_both(replicas, keycloak_issuer):
    ada = bearer(keycloak_issuer, "ada-api-throttle")
    sent_at = time.time()
    routes = ["/api/v1/users/me", "/api/v1/notebooks", "/api/v1/agents", "/api/v1/users/me/spaces"]

    answers = [
        requests.get(f"{replicas[number % 2].url}{routes[number % 4]}", headers=ada, timeout=30)
        for number in range(8)
    ]

    assert [answer.status_code for answer in answers[:6]] == [200] * 6
    assert_throttled(answers[6], 6, sent_at)
    assert_throttled(answers[7], 6, sent_at)
    grace = bearer(keycloak_issuer, "grace-api-throttle")
    assert requests.get(f"{replicas[0].url}/api/v1/users/me", headers=grace, timeout=30).status_code == 200


def test_anonymous_callers_are_counted_per_address_across_both(replicas):
    sent_at = time.time()

    def schema(url: str, address: str) -> requests.Response:
        headers = {"X-Forwarded-For": f"192.0.2.200, {address}", "Accept": "application/json"}
        return requests.get(f"{url}/api/v1/schema/", headers=headers, timeout=30)

    answers = alternating(replicas, 8, lambda url: schema(url, "203.0.113.5"))

    assert [answer.status_code for answer in answers[:6]] == [200] * 6
    assert_throttled(answers[6], 6, sent_at)
    assert_throttled(answers[7], 6, sent_at)
    # The client's own first entry is not believed; the address the proxy appended is the client.
    assert schema(replicas[1].url, "203.0.113.6").status_code == 200


def test_bad_tokens_are_counted_per_address_across_both(replicas, keycloak_issuer):
    sent_at = time.time()

    def with_token(url: str, token: str, address: str = "203.0.113.9") -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": address}
        return requests.get(f"{url}/api/v1/users/me", headers=headers, timeout=30)

    failures = alternating(replicas, 5, lambda url: with_token(url, "guessed-token"))
    good_token = keycloak_issuer.access_token("ada-bad-neighbour")

    assert [answer.status_code for answer in failures[:3]] == [401, 401, 401]
    assert_throttled(failures[3], 3, sent_at)
    assert_throttled(failures[4], 3, sent_at)
    # Refused before it is read: a good token from that address gets the same answer.
    assert with_token(replicas[0].url, good_token).status_code == 429
    assert with_token(replicas[1].url, good_token, address="203.0.113.10").status_code == 200


def test_a_throttle_that_cannot_count_answers_503_neither_letting_through_nor_refusing(
    start_gunicorn, database_forwarder
):
    # The schema, asked anonymously, reads nothing from the database but its throttle's count.
    server = start_gunicorn(database_port=database_forwarder.port, **RATES)
    schema = f"{server.url}/api/v1/schema/"
    assert requests.get(schema, timeout=30).status_code == 200

    database_forwarder.refuse()
    during = requests.get(schema, timeout=30)
    database_forwarder.restore()
    after = requests.get(schema, timeout=30)

    assert during.status_code == 503, during.text
    assert during.headers["Retry-After"].isdigit() and "database" in during.json()["detail"]
    assert [line["path"] for line in server.json_lines() if line["message"] == "database unavailable"] == [
        "/api/v1/schema/"
    ]
    assert after.status_code == 200
    assert "Traceback" not in server.log_text()
