"""``/metrics`` under gunicorn with two workers: one scrape adds up what every worker recorded.

gunicorn runs as in the image (``gunicorn.conf.py``, multiprocess directory, access log) against this
test's database, and signs users in with tokens from the Keycloak-shaped test issuer on loopback.
"""

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.db import connection
from prometheus_client.multiprocess import MultiProcessCollector

from aether.tests.prometheus import METRICS_TOKEN, family_types, parse_samples, value
from onboarding.models import OnboardingRun

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WORKERS = 2


@dataclass
class Gunicorn:
    url: str
    log: Path
    metrics_dir: Path | None

    def scrape(self, token: str = METRICS_TOKEN) -> dict:
        response = requests.get(
            f"{self.url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert response.status_code == 200, response.text
        return parse_samples(response.text)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def start_gunicorn(start_gunicorn) -> Callable[..., Gunicorn]:
    """``start_gunicorn(**environment)``: gunicorn with two workers on loopback (``tests.gunicorn``)."""

    def start(**environment: str) -> Gunicorn:
        # Connections close after each request, so nothing holds the test database when it is dropped.
        server = start_gunicorn(workers=WORKERS, DATABASE_CONN_MAX_AGE="0", **environment)
        directory = environment.get("PROMETHEUS_MULTIPROC_DIR")
        return Gunicorn(url=server.url, log=server.log, metrics_dir=Path(directory) if directory else None)

    return start


def in_parallel(count: int, call: Callable[[int], requests.Response]) -> list[requests.Response]:
    """``call(0)`` … ``call(count - 1)`` at the same moment, so that both workers take some."""
    barrier = threading.Barrier(count)

    def run(number: int) -> requests.Response:
        barrier.wait()
        return call(number)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def per_worker(metrics_dir: Path, kind: str, name: str, **labels: str) -> dict[int, float]:
    """What each worker's own file holds for one series, by the worker's pid."""
    found = {}
    for path in metrics_dir.glob(f"{kind}_*.db"):
        samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in MultiProcessCollector.merge([str(path)])
            for sample in family.samples
        }
        found[int(path.stem.split("_")[-1])] = value(samples, name, **labels)
    return found


def test_one_scrape_adds_up_the_requests_of_both_workers(start_gunicorn, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left by a server that ran before")
    server = start_gunicorn(METRICS_TOKEN=METRICS_TOKEN, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    labels = {"view": "readyz", "method": "GET", "status": "200"}
    name = "aether_http_request_duration_seconds_count"
    before = server.scrape()

    # Readiness reads the database, so a worker is busy long enough for the other to take requests too;
    # batches go on (a few at most) until both workers have answered some.
    sent = 0
    while sent < 60:
        answers = in_parallel(12, lambda _: requests.get(f"{server.url}/readyz", timeout=10))
        assert {answer.status_code for answer in answers} == {200}
        sent += len(answers)
        counts = per_worker(metrics_dir, "histogram", name, **labels)
        if len([count for count in counts.values() if count]) == WORKERS:
            break

    assert len([count for count in counts.values() if count]) == WORKERS, counts
    assert sum(counts.values()) == sent
    assert not (metrics_dir / "counter_1.db").exists(), "gunicorn empties the directory when it starts"
    # Whichever worker answers, a scrape has every worker's requests.
    for _ in range(4):
        after = server.scrape()
        assert value(after, name, **labels) - value(before, name, **labels) == sent


def test_a_wrong_token_is_refused_and_without_a_token_there_is_no_route(start_gunicorn, tmp_path):
    guarded = start_gunicorn(METRICS_TOKEN=METRICS_TOKEN, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    closed = start_gunicorn(METRICS_TOKEN="")

    wrong = requests.get(
        f"{guarded.url}/metrics", headers={"Authorization": "Bearer nope-0123456789abc"}, timeout=10
    )
    missing = requests.get(f"{guarded.url}/metrics", timeout=10)
    unset = requests.get(
        f"{closed.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    )

    assert (wrong.status_code, missing.status_code) == (401, 401)
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert unset.status_code == 404
    # Without the directory each worker would report only itself: gunicorn says so when it starts.
    assert "PROMETHEUS_MULTIPROC_DIR is not set" in closed.log_text()


@pytest.fixture
def agents_refused_for_refused_users():
    """A database that refuses to store an agent for users whose e-mail starts with ``refused-``.

    A trigger, so the failure happens in gunicorn's workers as a real database error would.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION test_refuse_agent() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (
                    SELECT 1 FROM accounts_user WHERE id = NEW.owner_id AND email LIKE 'refused-%'
                ) THEN
                    RAISE EXCEPTION 'no agents for this user';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_refuse_agent BEFORE INSERT ON notebooks_agent
                FOR EACH ROW EXECUTE FUNCTION test_refuse_agent();
            """
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER test_refuse_agent ON notebooks_agent; DROP FUNCTION test_refuse_agent();"
        )


def test_six_first_api_calls_count_six_completed_runs_in_one_scrape(
    keycloak_issuer, start_gunicorn, tmp_path, agents_refused_for_refused_users
):
    metrics_dir = tmp_path / "metrics"
    server = start_gunicorn(METRICS_TOKEN=METRICS_TOKEN, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    completed = {"trigger": "api", "status": "completed"}
    before = server.scrape()

    def first_call(number: int) -> requests.Response:
        token = keycloak_issuer.access_token(f"new-user-{number}")
        headers = {"Authorization": f"Bearer {token}", "X-Request-ID": f"first-call-{number}"}
        return requests.get(f"{server.url}/api/v1/users/me", headers=headers, timeout=30)

    answers = in_parallel(6, first_call)
    token = keycloak_issuer.access_token("refused-1")
    refused = requests.get(
        f"{server.url}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )

    assert [answer.json()["onboarding_status"] for answer in answers] == ["completed"] * 6
    # The sign-in still answers; the run failed at its agent step and was recorded so.
    assert (refused.status_code, refused.json()["onboarding_status"]) == (200, "failed")
    after = server.scrape()
    assert value(before, "aether_onboarding_runs_total", **completed) == 0
    assert value(after, "aether_onboarding_runs_total", **completed) == 6
    assert value(after, "aether_onboarding_runs_total", trigger="api", status="failed") == 1
    assert value(after, "aether_onboarding_step_failures_total", step="agent") == 1
    assert value(after, "aether_onboarding_step_failures_total", step="notebook") == 0
    assert value(after, "aether_onboarding_run_duration_seconds_count", trigger="api") == 7
    assert value(after, "aether_onboarding_step_duration_seconds_count", step="agent") == 7
    assert value(after, "aether_users", onboarding_status="completed") == 6
    assert value(after, "aether_users", onboarding_status="failed") == 1
    types = family_types(
        requests.get(
            f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
        ).text
    )
    assert types["aether_onboarding_run_duration_seconds"] == "histogram"
    assert types["aether_onboarding_step_duration_seconds"] == "histogram"
    # The six were recorded in the workers' own files, and the scrape added them up.
    assert sum(per_worker(metrics_dir, "counter", "aether_onboarding_runs_total", **completed).values()) == 6

    # Each run carries the id of the request that started it, which its log lines and access line show.
    run = OnboardingRun.objects.get(user__sub="new-user-3")
    assert run.request_id == "first-call-3"
    lines = [json.loads(line) for line in server.log_text().splitlines() if line.startswith("{")]
    logged = [line for line in lines if line.get("request_id") == "first-call-3"]
    assert [line["message"] for line in logged] == ["onboarding completed"]
    assert logged[0]["run_id"] == str(run.pk)
    assert 'GET /api/v1/users/me HTTP/1.1" 200' in server.log_text()
    assert "request_id=first-call-3" in server.log_text()
