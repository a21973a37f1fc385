"""The throttles on the API, in one process: the retry route, every route, anonymous callers, bad tokens.

Across processes and replicas: ``test_throttles_gunicorn.py``.
"""

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from rest_framework.test import APIClient

from accounts.models import User
from aether.env import Rate
from aether.tests.api_fixtures import bearer_client

pytestmark = pytest.mark.django_db

RETRY = "/api/v1/users/me/onboarding/retry"
ME = "/api/v1/users/me"
SCHEMA = "/api/v1/schema/"
A_DAY = 86400


def assert_throttled(response) -> int:
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]
    assert response["Retry-After"].isdigit()
    return int(response["Retry-After"])


def test_the_retry_route_is_throttled_per_user(settings, ada, make_user, session_api_client):
    settings.ONBOARDING_RETRY_THROTTLE = Rate(2, A_DAY)
    client = session_api_client(ada)

    answers = [client.post(RETRY) for _ in range(3)]

    assert [answer.status_code for answer in answers[:2]] == [200, 200]
    wait = assert_throttled(answers[2])
    assert 0 < wait <= 2 * A_DAY
    assert "throttled" in answers[2].json()["detail"]
    # Reading is not retrying; and another user has retries of their own.
    assert client.get(ME).status_code == 200
    assert session_api_client(make_user()).post(RETRY).status_code == 200


def test_every_api_route_is_throttled_per_user(settings, ada, make_user, session_api_client):
    settings.API_THROTTLE = Rate(3, A_DAY)
    client = session_api_client(ada)

    statuses = [client.get(route).status_code for route in (ME, "/api/v1/notebooks", ME)]
    assert statuses == [200, 200, 200]
    assert_throttled(client.get("/api/v1/agents"))
    assert_throttled(client.post(RETRY))
    assert session_api_client(make_user()).get(ME).status_code == 200


def test_anonymous_callers_are_throttled_per_address(settings):
    settings.API_THROTTLE = Rate(2, A_DAY)
    client = APIClient()

    assert [client.get(SCHEMA, REMOTE_ADDR="192.0.2.1").status_code for _ in range(2)] == [200, 200]
    assert_throttled(client.get(SCHEMA, REMOTE_ADDR="192.0.2.1"))
    # Without a trusted proxy, X-Forwarded-For is anyone's to write: ignored.
    assert_throttled(client.get(SCHEMA, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.9"))
    assert client.get(SCHEMA, REMOTE_ADDR="192.0.2.2").status_code == 200


def test_behind_a_trusted_proxy_the_address_it_appends_is_the_client(settings):
    settings.API_THROTTLE = Rate(1, A_DAY)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = APIClient()
    proxy = {"REMOTE_ADDR": "10.0.0.5"}

    # What the client wrote comes first; the proxy appends the address it saw.
    first = client.get(SCHEMA, HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.7", **proxy)
    again = client.get(SCHEMA, HTTP_X_FORWARDED_FOR="2.2.2.2, 198.51.100.7", **proxy)
    other = client.get(SCHEMA, HTTP_X_FORWARDED_FOR="198.51.100.8", **proxy)

    assert first.status_code == 200
    assert_throttled(again)
    assert other.status_code == 200


BAD_TOKENS = {
    # Refused before it is checked: checking it would cost the provider a userinfo call.
    "opaque": lambda issuer: "not-a-token-at-all",
    # Checked locally; the address's failures are read along with the user, or counted as one more.
    "JWT": lambda issuer: issuer.sign(
        issuer.claims("intruder"), key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ),
}


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_an_address_sending_bad_tokens_is_refused_whatever_it_sends(settings, keycloak_issuer, ada, kind):
    settings.AUTH_FAILURE_THROTTLE = Rate(2, A_DAY)
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION=f"Bearer {BAD_TOKENS[kind](keycloak_issuer)}")
    good = bearer_client(ada, keycloak_issuer)

    failures = [bad.get(ME, REMOTE_ADDR="192.0.2.66") for _ in range(2)]
    refused = bad.get(ME, REMOTE_ADDR="192.0.2.66")
    again = bad.get(ME, REMOTE_ADDR="192.0.2.66")
    good_from_there = good.get(ME, REMOTE_ADDR="192.0.2.66")

    assert [answer.status_code for answer in failures] == [401, 401]
    wait = assert_throttled(refused)
    assert 0 < wait <= 2 * A_DAY
    assert "failed authentications" in refused.json()["detail"]
    # A refusal is not a failure counted: the wait does not grow (a second may tick away meanwhile).
    assert wait - 1 <= assert_throttled(again) <= wait
    # Even a good token: the answer must not tell a guessed token from a bad one.
    assert wait - 1 <= assert_throttled(good_from_there) <= wait
    assert good.get(ME, REMOTE_ADDR="192.0.2.67").status_code == 200
    # Successes are not failures: many good tokens from one address are never refused this way.
    assert [good.get(ME, REMOTE_ADDR="192.0.2.68").status_code for _ in range(4)] == [200] * 4


def test_a_new_users_first_token_from_a_failing_address_creates_nobody(settings, keycloak_issuer):
    settings.AUTH_FAILURE_THROTTLE = Rate(1, A_DAY)
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION=f"Bearer {BAD_TOKENS['JWT'](keycloak_issuer)}")
    assert bad.get(ME, REMOTE_ADDR="192.0.2.69").status_code == 401
    newcomer = APIClient()
    newcomer.credentials(HTTP_AUTHORIZATION=f"Bearer {keycloak_issuer.access_token('newcomer')}")

    assert_throttled(newcomer.get(ME, REMOTE_ADDR="192.0.2.69"))

    assert not User.objects.filter(sub="newcomer").exists()
    assert newcomer.get(ME, REMOTE_ADDR="192.0.2.70").status_code == 200


def test_the_schema_documents_the_429_answer(client):
    schema = client.get(SCHEMA, HTTP_ACCEPT="application/json").json()

    for methods in schema["paths"].values():
        for operation in methods.values():
            assert "429" in operation["responses"], operation["operationId"]
