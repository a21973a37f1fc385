"""The database refusing connections, then back, under real gunicorn: 503s while it is gone, then recovery.

PostgreSQL itself keeps running (other work shares it): gunicorn reaches it through a TCP forwarder on
loopback (``tests.tcp_forwarder``) that the test switches to refusing connections, which also cuts the
connections the workers keep open (``DATABASE_CONN_MAX_AGE`` is left at its default, so they do).
"""

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.test import Client

from accounts.models import Space, User
from notebooks.models import Agent, Document, Notebook
from onboarding.models import OnboardingRun, UserOnboarding

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

STYLESHEET = '<link rel="stylesheet" href="/static/aether.css">'
ROUNDS = 3


def outage_lines(server) -> list[dict]:
    return [line for line in server.json_lines() if line["message"] == "database unavailable"]


def assert_no_traceback_and_no_500(server) -> None:
    text = server.log_text()
    assert "Traceback" not in text
    assert not [line for line in server.json_lines() if "exception" in line or line["level"] == "ERROR"]
    assert '" 500 ' not in text


def test_an_unreachable_database_answers_503_everywhere_and_the_same_workers_recover(
    keycloak_issuer, start_gunicorn, database_forwarder, ada
):
    server = start_gunicorn(database_port=database_forwarder.port, workers=2)
    browser = Client()
    browser.force_login(ada)
    session = {"sessionid": browser.cookies["sessionid"].value, "csrftoken": "c" * 32}
    bearer = {"Authorization": f"Bearer {keycloak_issuer.access_token(ada.sub, email=ada.email)}"}
    newcomer = {
        "Authorization": f"Bearer {keycloak_issuer.access_token('newcomer', email='new@example.com')}"
    }
    url = server.url
    pids = set(server.worker_pids())
    numbers = itertools.count()

    def write(name: str) -> requests.Response:
        return requests.post(f"{url}/api/v1/notebooks", json={"name": name}, headers=bearer, timeout=30)

    calls: dict[str, Callable[[], requests.Response]] = {
        "api, bearer": lambda: requests.get(f"{url}/api/v1/users/me", headers=bearer, timeout=30),
        "api, session": lambda: requests.get(f"{url}/api/v1/notebooks", cookies=session, timeout=30),
        "api, a new user's first call": lambda: requests.get(
            f"{url}/api/v1/users/me", headers=newcomer, timeout=30
        ),
        "api, session write": lambda: requests.post(
            f"{url}/api/v1/notebooks",
            json={"name": f"Session write {next(numbers)}"},
            cookies=session,
            headers={"X-CSRFToken": session["csrftoken"], "Referer": url},
            timeout=30,
        ),
        "page, signed in": lambda: requests.get(f"{url}/", cookies=session, timeout=30),
        "page, a space's dashboard": lambda: requests.get(
            f"{url}/spaces/{ada.onboarding.space_id}/", cookies=session, timeout=30
        ),
    }

    # Up: every worker holds a connection open (the default DATABASE_CONN_MAX_AGE keeps them).
    for _ in range(ROUNDS):
        assert requests.get(f"{url}/api/v1/users/me", headers=bearer, timeout=30).status_code == 200
        assert requests.get(f"{url}/", cookies=session, timeout=30).status_code == 200
    assert write("Written before").status_code == 201
    users_before = User.objects.count()

    database_forwarder.refuse()

    answers = {name: [call() for _ in range(ROUNDS)] for name, call in calls.items()}
    writes = [write(f"Written during the outage {number}") for number in range(ROUNDS)]
    readiness = requests.get(f"{url}/readyz", timeout=30)
    liveness = requests.get(f"{url}/healthz", timeout=30)
    # The landing page needs no database: a visitor still sees it.
    landing = requests.get(f"{url}/", timeout=30)

    for name, responses in {**answers, "api, bearer write": writes}.items():
        for response in responses:
            assert response.status_code == 503, (name, response.status_code, response.text[:300])
            assert response.headers["Retry-After"] == "30", name
            assert response.headers["X-Request-ID"], name
            if name.startswith("api"):
                assert response.headers["Content-Type"] == "application/json", name
                assert response.json() == {
                    "detail": "The database cannot be reached right now. Try again in a moment."
                }
            else:
                assert response.headers["Content-Type"].startswith("text/html"), name
                assert STYLESHEET in response.text
                assert "Aether is unavailable for a moment" in response.text
                assert "Content-Security-Policy" in response.headers
    assert (readiness.status_code, readiness.json()["database"]) == (503, "error")
    assert (liveness.status_code, liveness.json()) == (200, {"status": "ok"})
    assert landing.status_code == 200

    # Each 503 is one warning line, with its request's id and no traceback; nothing else complained.
    refused = [response for responses in [*answers.values(), writes, [readiness]] for response in responses]
    lines = outage_lines(server)
    assert len(lines) == len(refused)
    assert {line["request_id"] for line in lines} == {r.headers["X-Request-ID"] for r in refused}
    assert {line["level"] for line in lines} == {"WARNING"}
    assert all(line["error"].startswith("OperationalError: ") for line in lines)
    assert_no_traceback_and_no_500(server)

    database_forwarder.restore()

    # The same workers, without a restart: the broken connections were dropped, new ones made.
    for _ in range(ROUNDS):
        for name, call in calls.items():
            response = call()
            assert response.status_code in {200, 201}, (name, response.status_code, response.text[:300])
    assert write("Written after").status_code == 201
    assert requests.get(f"{url}/readyz", timeout=30).status_code == 200
    assert set(server.worker_pids()) == pids
    assert len(outage_lines(server)) == len(refused)
    assert_no_traceback_and_no_500(server)

    # Nothing was written while the database was gone, and nothing half.
    assert not Notebook.objects.filter(name__startswith="Written during").exists()
    assert Notebook.objects.filter(name__startswith="Session write").count() == ROUNDS
    assert set(Notebook.objects.filter(name__startswith="Written").values_list("name", flat=True)) == {
        "Written before",
        "Written after",
    }
    # The newcomer was made once, by the first call after recovery, and onboarded whole.
    assert User.objects.count() == users_before + 1
    newcomer_user = User.objects.get(sub="newcomer")
    assert UserOnboarding.objects.get(user=newcomer_user).status == "completed"
    assert Agent.objects.filter(owner=newcomer_user).count() == 1


def test_the_database_going_away_mid_onboarding_leaves_nothing_half_and_no_traceback(
    keycloak_issuer, start_gunicorn, database_forwarder, stall_agent_inserts
):
    server = start_gunicorn(database_port=database_forwarder.port)
    headers = {"Authorization": f"Bearer {keycloak_issuer.access_token('mid-run', email='mid@example.com')}"}
    stall_agent_inserts.set(3)

    with ThreadPoolExecutor(max_workers=1) as pool:
        first_call = pool.submit(requests.get, f"{server.url}/api/v1/users/me", headers=headers, timeout=60)
        # The run has its space, notebook and documents written, not committed, and waits on its agent.
        stall_agent_inserts.wait_until_stalled()
        database_forwarder.refuse()
        answer = first_call.result()

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "30"
    user = User.objects.get(sub="mid-run")  # committed at sign-in, before the run began
    assert not Space.objects.filter(owner=user).exists()
    assert not Notebook.objects.filter(owner=user).exists()
    assert not Document.objects.filter(notebook__owner=user).exists()
    assert not Agent.objects.filter(owner=user).exists()
    # The run was recorded as running before its work began; recording its end needed the database.
    assert list(OnboardingRun.objects.filter(user=user).values_list("status", flat=True)) == ["running"]
    lines = server.json_lines()
    messages = [line["message"] for line in lines if line["level"] != "INFO"]
    assert messages == [
        "onboarding run could not be recorded: the database cannot be reached",
        "database unavailable",
    ]
    assert_no_traceback_and_no_500(server)

    stall_agent_inserts.set(0)
    database_forwarder.restore()
    again = requests.get(f"{server.url}/api/v1/users/me", headers=headers, timeout=60)

    assert (again.status_code, again.json()["onboarding_status"]) == (200, "completed")
    assert Agent.objects.filter(owner=user).count() == 1
    assert Document.objects.filter(notebook__owner=user).count() == 3
    assert OnboardingRun.objects.filter(user=user, status="completed").count() == 1
    # The half-run's uncommitted rows never became visible: nothing duplicated by the retry.
    assert Space.objects.filter(owner=user).count() == 1
