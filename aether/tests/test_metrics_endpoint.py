"""``GET /metrics`` in one process: the token, the format, the request metrics and the users gauge."""

import pytest

from aether.tests.prometheus import METRICS_TOKEN, family_types, parse_samples, value
from onboarding.models import OnboardingStatus, UserOnboarding

pytestmark = pytest.mark.django_db


@pytest.fixture
def metrics_token(settings) -> str:
    settings.METRICS_TOKEN = METRICS_TOKEN
    return METRICS_TOKEN


def scrape(client, token: str = METRICS_TOKEN, **extra) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}", **extra)
    assert response.status_code == 200, response.content
    return parse_samples(response.content.decode())


def test_without_a_token_configured_the_route_does_not_exist(client, settings):
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything-at-all-000000")

    assert response.status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token-0123456789", f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x", "Bearer"],
)
def test_a_missing_or_wrong_token_is_refused(client, metrics_token, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get("/metrics", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"aether_" not in response.content


def test_the_exposition_is_prometheus_text_with_the_contracts_families(client, metrics_token):
    client.get("/healthz")

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_token}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response["Cache-Control"].startswith("max-age=0")
    types = family_types(response.content.decode())
    assert types["aether_users"] == "gauge"
    assert types["aether_http_request_duration_seconds"] == "histogram"


def test_scrapers_reach_it_by_pod_address_which_is_no_allowed_host(client, metrics_token):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_token}", HTTP_HOST="10.1.2.3:8000")

    assert response.status_code == 200


def test_only_get_is_answered(client, metrics_token):
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_token}").status_code == 405


def test_users_are_counted_per_status_in_one_query_at_scrape_time(
    client, metrics_token, make_user, django_assert_num_queries
):
    users = [make_user() for _ in range(6)]
    for user, status in zip(
        users[1:], ["running", "completed", "completed", "failed", "failed"], strict=True
    ):
        UserOnboarding.objects.create(user=user, status=status)

    # The route is answered before sessions and authentication: the count is its only query.
    with django_assert_num_queries(1):
        samples = scrape(client)

    assert {
        status: value(samples, "aether_users", onboarding_status=status) for status in OnboardingStatus
    } == {
        "not_started": 1,
        "running": 1,
        "completed": 2,
        "failed": 2,
    }


def test_requests_are_counted_and_timed_by_view_method_and_status(client, metrics_token, ada):
    before = scrape(client)
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no/such/page/42")
    client.force_login(ada)
    notebook_id = ada.onboarding.notebook_id
    client.get(f"/api/v1/notebooks/{notebook_id}")

    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert (
        delta("aether_http_request_duration_seconds_count", view="healthz", method="GET", status="200") == 2
    )
    # Any unknown path is one series: nobody can grow the metrics by inventing URLs.
    assert (
        delta("aether_http_request_duration_seconds_count", view="<unresolved>", method="GET", status="404")
        == 1
    )
    assert (
        delta("aether_http_request_duration_seconds_count", view="api:notebook", method="GET", status="200")
        == 1
    )
    assert (
        delta("aether_http_request_duration_seconds_count", view="healthz", method="GET", status="200") == 2
    )
    assert (
        delta(
            "aether_http_request_duration_seconds_bucket",
            view="healthz",
            method="GET",
            status="200",
            le="+Inf",
        )
        == 2
    )
    assert not any(str(notebook_id) in str(labels) for _, labels in after)


def test_a_scrape_while_the_database_is_down_still_answers_without_the_users_gauge(
    client, metrics_token, monkeypatch
):
    from django.db import OperationalError, connection

    client.get("/healthz")

    def refuse(*args, **kwargs):  # an unreachable database server, which cannot be staged here
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_token}")

    assert response.status_code == 200
    samples = parse_samples(response.content.decode())
    assert (
        value(
            samples, "aether_http_request_duration_seconds_count", view="healthz", method="GET", status="200"
        )
        >= 1
    )
    assert not any(name == "aether_users" for name, _ in samples)
