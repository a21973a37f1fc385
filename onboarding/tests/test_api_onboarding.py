import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from notebooks.models import Agent, Document, Notebook
from onboarding.models import OnboardingRun
from onboarding.services import onboard_user


@pytest.mark.django_db
def test_status_before_any_run(session_api_client, user):
    body = session_api_client(user).get("/api/v1/users/me/onboarding/status").json()

    assert body == {
        "status": "not_started",
        "blueprint_version": None,
        "attempts": 0,
        "resources": {"space_id": None, "notebook_id": None, "document_ids": [], "agent_id": None},
        "last_run": None,
    }


@pytest.mark.django_db
def test_status_after_onboarding_names_the_resources_and_the_last_run(api_client, user):
    onboard_user(user=user, trigger="login")
    notebook = Notebook.objects.get(owner=user)

    body = api_client(user).get("/api/v1/users/me/onboarding/status").json()

    assert (body["status"], body["blueprint_version"], body["attempts"]) == ("completed", 1, 1)
    assert body["resources"]["notebook_id"] == str(notebook.pk)
    assert body["resources"]["agent_id"] == str(Agent.objects.get(owner=user).pk)
    assert body["resources"]["document_ids"] == [
        str(pk)
        for pk in Document.objects.filter(notebook=notebook)
        .order_by("created_at", "name")
        .values_list("pk", flat=True)
    ]
    run = body["last_run"]
    assert (run["trigger"], run["status"], run["error"]) == ("login", "completed", "")
    assert [(s["name"], s["status"]) for s in run["steps"]] == [
        ("personal_space", "succeeded"),
        ("notebook", "succeeded"),
        ("documents", "succeeded"),
        ("agent", "succeeded"),
    ]


@pytest.mark.django_db
def test_retry_creates_only_what_is_missing(api_client, user):
    onboard_user(user=user, trigger="login")
    notebook = Notebook.objects.get(owner=user)
    notebook.name = "Renamed by the user"
    notebook.save()
    Document.objects.filter(notebook=notebook, name="Sample FAQ.txt").delete()
    Agent.objects.filter(owner=user).delete()
    client = api_client(user)

    body = client.post("/api/v1/users/me/onboarding/retry").json()

    assert body["status"] == "completed"
    assert body["last_run"]["trigger"] == "retry"
    assert Notebook.objects.get(owner=user).name == "Renamed by the user"
    assert sorted(Document.objects.filter(notebook=notebook).values_list("name", flat=True)) == [
        "Quick Start Guide.txt",
        "Sample FAQ.txt",
        "Welcome to Aether.txt",
    ]
    assert Agent.objects.filter(owner=user).count() == 1
    run = OnboardingRun.objects.get(pk=body["last_run"]["id"])
    assert (run.actor, run.forced) == (user, True)

    again = client.post("/api/v1/users/me/onboarding/retry").json()
    assert again["resources"] == body["resources"]
    assert (Notebook.objects.filter(owner=user).count(), Agent.objects.filter(owner=user).count()) == (1, 1)


@pytest.mark.django_db
def test_retry_needs_the_csrf_token_with_a_session(user):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)

    response = browser.post("/api/v1/users/me/onboarding/retry")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not OnboardingRun.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_leave_one_of_each_resource(api_client, user):
    clients = [api_client(user) for _ in range(4)]
    answers: list[int] = []
    barrier = threading.Barrier(len(clients))

    def retry(client) -> None:
        try:
            barrier.wait()
            answers.append(client.post("/api/v1/users/me/onboarding/retry").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [200, 200, 200, 200]
    assert Notebook.objects.filter(owner=user).count() == 1
    assert Document.objects.filter(notebook__owner=user).count() == 3
    assert Agent.objects.filter(owner=user).count() == 1
    assert OnboardingRun.objects.filter(user=user, trigger="retry", status="completed").count() == 4


@pytest.mark.django_db
def test_a_skipped_run_is_not_the_last_run(api_client, user):
    completed = onboard_user(user=user, trigger="login")
    skipped = onboard_user(user=user, trigger="api")  # kept in the record for the audit trail

    body = api_client(user).get("/api/v1/users/me/onboarding/status").json()

    assert skipped.status == "skipped"
    assert OnboardingRun.objects.filter(pk=skipped.pk).exists()
    assert (body["last_run"]["id"], body["last_run"]["status"]) == (str(completed.pk), "completed")
    assert len(body["last_run"]["steps"]) == 4
    assert body["attempts"] == 1
