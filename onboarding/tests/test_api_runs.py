"""``GET /api/v1/users/me/onboarding/runs``: the caller's runs, newest first, a DRF page of them."""

import pytest

from onboarding.models import OnboardingRun
from onboarding.services import onboard_user

RUNS = "/api/v1/users/me/onboarding/runs"
RUN_FIELDS = {"id", "trigger", "status", "started_at", "finished_at", "duration_ms", "error", "steps"}


@pytest.mark.django_db
def test_the_runs_are_newest_first_with_their_steps(api_client, ada, fail_step):
    fail_step("agent")
    failed = onboard_user(user=ada, trigger="retry", actor=ada, force=True)

    body = api_client(ada).get(RUNS).json()

    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    newest, first = body["results"]
    assert set(newest) == RUN_FIELDS
    assert (newest["id"], newest["trigger"], newest["status"]) == (str(failed.pk), "retry", "failed")
    assert newest["error"] == "RuntimeError: injected failure in agent"
    assert [(step["name"], step["status"]) for step in newest["steps"]] == [
        ("personal_space", "rolled_back"),
        ("notebook", "rolled_back"),
        ("documents", "rolled_back"),
        ("agent", "failed"),
    ]
    assert set(newest["steps"][3]) == {"name", "status", "duration_ms", "error"}
    assert (first["trigger"], first["status"], first["error"]) == ("login", "completed", "")
    assert first["started_at"] < first["finished_at"] <= newest["started_at"]
    assert isinstance(first["duration_ms"], int)


@pytest.mark.django_db
def test_the_runs_come_fifty_a_page_and_only_the_callers(session_api_client, ada, make_user):
    for _ in range(50):
        onboard_user(user=ada, trigger="retry", actor=ada, force=True)
    onboard_user(user=make_user(), trigger="login")  # somebody else's run is not listed
    everything = list(OnboardingRun.objects.filter(user=ada).order_by("-started_at"))
    client = session_api_client(ada)

    first = client.get(RUNS).json()
    second = client.get(first["next"]).json()

    assert first["count"] == second["count"] == 51
    assert first["next"].endswith(f"{RUNS}?page=2")
    assert second["previous"].endswith(RUNS)
    assert (len(first["results"]), len(second["results"]), second["next"]) == (50, 1, None)
    listed = [run["id"] for run in first["results"] + second["results"]]
    assert listed == [str(run.pk) for run in everything]
    assert second["results"][0]["trigger"] == "login"  # the first run is on the last page


@pytest.mark.django_db
def test_a_run_still_running_has_no_end_yet(session_api_client, user):
    # What a run's record says between its start and its end (or forever, if its process was killed).
    from onboarding.recording import RunRecord

    record = RunRecord(user=user, trigger="api", actor=None, forced=False)
    record.save_started()

    (run,) = session_api_client(user).get(RUNS).json()["results"]

    assert (run["id"], run["status"], run["finished_at"], run["duration_ms"]) == (
        str(record.run.pk),
        "running",
        None,
        None,
    )
    assert (run["error"], run["steps"]) == ("", [])


@pytest.mark.django_db
def test_the_runs_of_nobody_signed_in_are_refused(client):
    response = client.get(RUNS)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
