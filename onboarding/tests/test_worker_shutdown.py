"""SIGTERM to gunicorn in the middle of a sign-in's onboarding: the run ends and is recorded, nothing half.

A real gunicorn (``gunicorn.conf.py``, its default gthread workers) serves a new user's first API call;
the run is held at its agent step by a stall in the database (``stall_agent_inserts``), with its space,
notebook and documents written but not committed, when the test sends SIGTERM to the worker or to
gunicorn itself (as Kubernetes does to a pod). gunicorn lets the worker finish what it holds for
``GUNICORN_GRACEFUL_TIMEOUT``, which must exceed ``ONBOARDING_TIMEOUT_SECONDS``: so the run ends,
completed, or timed out and rolled back, and is recorded before the worker goes.
"""

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings

from accounts.models import Space, User
from notebooks.models import Agent, Document, Notebook
from onboarding.models import OnboardingRun, OnboardingStep
from tests.gunicorn import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def first_call_during(server, keycloak_issuer, stall, sub: str, stop) -> requests.Response:
    """A new user's first API call, with ``stop()`` done while its onboarding is held at the agent step."""
    token = keycloak_issuer.access_token(sub, email=f"{sub}@example.com", name="Grace Hopper")
    with ThreadPoolExecutor(max_workers=1) as pool:
        call = pool.submit(
            requests.get,
            f"{server.url}/api/v1/users/me",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        stall.wait_until_stalled()
        stop()
        return call.result()


def first_call_while_gunicorn_stops(
    server, keycloak_issuer, stall, sub: str
) -> tuple[requests.Response, User]:
    """``first_call_during`` with SIGTERM to gunicorn itself, which must then exit cleanly."""
    answer = first_call_during(
        server, keycloak_issuer, stall, sub, lambda: server.process.send_signal(signal.SIGTERM)
    )
    assert server.process.wait(timeout=30) == 0, server.log_text()
    return answer, User.objects.get(sub=sub)


def resources_of(user: User) -> dict[str, int]:
    return {
        "spaces": Space.objects.filter(owner=user).count(),
        "notebooks": Notebook.objects.filter(owner=user).count(),
        "documents": Document.objects.filter(notebook__owner=user).count(),
        "agents": Agent.objects.filter(owner=user).count(),
    }


def assert_no_traceback(server) -> None:
    assert "Traceback" not in server.log_text()


def test_sigterm_to_the_worker_mid_onboarding_lets_the_run_complete_and_a_new_worker_serve(
    keycloak_issuer, start_gunicorn, stall_agent_inserts
):
    server = start_gunicorn()
    (worker,) = server.worker_pids()
    stall_agent_inserts.set(2)

    answer = first_call_during(
        server, keycloak_issuer, stall_agent_inserts, "term-worker", lambda: os.kill(worker, signal.SIGTERM)
    )

    assert (answer.status_code, answer.json()["onboarding_status"]) == (200, "completed")
    user = User.objects.get(sub="term-worker")
    run = OnboardingRun.objects.get(user=user)
    assert (run.status, run.trigger) == ("completed", "api")
    assert resources_of(user) == {"spaces": 1, "notebooks": 1, "documents": 3, "agents": 1}
    # The worker left once its request was answered; gunicorn started another, which serves.
    deadline = time.monotonic() + 30
    while worker in server.worker_pids() or not server.worker_pids():
        assert time.monotonic() < deadline, server.log_text()
        time.sleep(0.1)
    assert f"Worker exiting (pid: {worker})" in server.log_text()
    assert requests.get(f"{server.url}/readyz", timeout=30).status_code == 200
    assert_no_traceback(server)


def test_sigterm_to_gunicorn_mid_onboarding_completes_the_run_before_it_stops(
    keycloak_issuer, start_gunicorn, stall_agent_inserts
):
    server = start_gunicorn(GUNICORN_GRACEFUL_TIMEOUT="20")
    stall_agent_inserts.set(3)

    answer, user = first_call_while_gunicorn_stops(
        server, keycloak_issuer, stall_agent_inserts, "term-master"
    )

    assert (answer.status_code, answer.json()["onboarding_status"]) == (200, "completed")
    assert OnboardingRun.objects.get(user=user).status == "completed"
    assert resources_of(user) == {"spaces": 1, "notebooks": 1, "documents": 3, "agents": 1}
    assert_no_traceback(server)


def test_a_run_stalled_past_its_timeout_when_gunicorn_stops_is_rolled_back_and_recorded_failed(
    keycloak_issuer, start_gunicorn, stall_agent_inserts
):
    server = start_gunicorn(ONBOARDING_TIMEOUT_SECONDS="2", GUNICORN_GRACEFUL_TIMEOUT="10")
    stall_agent_inserts.set(30)

    answer, user = first_call_while_gunicorn_stops(
        server, keycloak_issuer, stall_agent_inserts, "term-stalled"
    )

    # The sign-in still answers; the run gave up at its timeout, well within the graceful timeout.
    assert (answer.status_code, answer.json()["onboarding_status"]) == (200, "failed")
    run = OnboardingRun.objects.get(user=user)
    assert (run.status, run.failed_step, run.timed_out) == ("failed", "agent", True)
    steps = dict(run.steps.values_list("name", "status"))
    assert steps == {
        "personal_space": OnboardingStep.Status.ROLLED_BACK,
        "notebook": OnboardingStep.Status.ROLLED_BACK,
        "documents": OnboardingStep.Status.ROLLED_BACK,
        "agent": OnboardingStep.Status.FAILED,
    }
    assert resources_of(user) == {"spaces": 0, "notebooks": 0, "documents": 0, "agents": 0}
    assert user.onboarding.status == "failed"
    assert_no_traceback(server)


@pytest.mark.parametrize(("graceful", "onboarding"), [("10", "10"), ("25", "30")])
def test_gunicorn_refuses_a_graceful_timeout_not_longer_than_the_onboardings(graceful, onboarding):
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "aether.wsgi:application"],
        cwd=settings.BASE_DIR,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "aether.test_settings",
            "GUNICORN_BIND": f"127.0.0.1:{free_port()}",
            "GUNICORN_GRACEFUL_TIMEOUT": graceful,
            "ONBOARDING_TIMEOUT_SECONDS": onboarding,
        },
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode != 0
    message = f"GUNICORN_GRACEFUL_TIMEOUT ({graceful}) must be longer than ONBOARDING_TIMEOUT_SECONDS"
    assert f"{message} ({onboarding})" in result.stderr, result.stderr
