import pytest
from django.db import connection


def test_liveness_answers_without_the_database(client):
    # No django_db mark: pytest-django raises on any database access in this test.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readiness_checks_the_database_and_migrations(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "pending_migrations": 0}


@pytest.mark.django_db
def test_readiness_is_503_when_the_database_does_not_answer(client, monkeypatch):
    from django.db import OperationalError

    def refuse(*args, **kwargs):  # an unreachable database server, which cannot be staged here
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


@pytest.mark.django_db
def test_probes_answer_whatever_host_the_orchestrator_uses(client):
    # Kubelets probe by pod IP, which is not an allowed host; other pages refuse it.
    assert client.get("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/", HTTP_HOST="10.1.2.3:8000").status_code == 400
