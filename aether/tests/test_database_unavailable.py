"""A database error wherever a request meets it, a view or a middleware: one 503, one warning line.

The database here answers; the error is raised by the session store, the first thing that reads or
writes the database for a signed-in request. ``test_database_outage`` takes the database away for
real, under gunicorn.
"""

import logging

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError
from django.test import Client

pytestmark = pytest.mark.django_db


def refuse(*args, **kwargs):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')


def only_lines(caplog) -> list[tuple[str, int, str]]:
    return [(record.name, record.levelno, record.getMessage()) for record in caplog.records]


def test_a_session_that_cannot_be_saved_in_middleware_answers_the_503_page_logged_once(
    ada, monkeypatch, caplog
):
    client = Client(raise_request_exception=False)
    client.force_login(ada)
    monkeypatch.setattr(SessionStore, "save", refuse)
    caplog.set_level(logging.INFO)

    # The view remembers the space in the session; SessionMiddleware saves it after the view.
    response = client.get(f"/spaces/{ada.onboarding.space_id}/")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "Aether is unavailable for a moment" in response.content.decode()
    assert only_lines(caplog) == [("aether.database", logging.WARNING, "database unavailable")]
    assert caplog.records[0].path == f"/spaces/{ada.onboarding.space_id}/"
    assert caplog.records[0].error.startswith("OperationalError: connection to server")
    assert caplog.records[0].exc_info is None


def test_a_session_that_cannot_be_loaded_answers_api_503_json_logged_once(ada, monkeypatch, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(ada)
    monkeypatch.setattr(SessionStore, "load", refuse)
    caplog.set_level(logging.INFO)

    response = client.get("/api/v1/notebooks")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == {"detail": "The database cannot be reached right now. Try again in a moment."}
    assert only_lines(caplog) == [("aether.database", logging.WARNING, "database unavailable")]


def test_an_error_that_is_not_the_databases_is_still_a_500(ada, monkeypatch, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(ada)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(SessionStore, "save", broken)

    response = client.get(f"/spaces/{ada.onboarding.space_id}/")

    assert response.status_code == 500
    assert "Retry-After" not in response
    assert [record.levelno for record in caplog.records if record.name == "django.request"] == [logging.ERROR]
