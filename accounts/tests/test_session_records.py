"""The records of browser sessions: pruned with the sessions they describe, and the engines they need."""

import datetime
from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import BrowserSession, ConsumedLogoutToken
from accounts.sessions import session_store

pytestmark = pytest.mark.django_db


def browser_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_prune_sessions_clears_expired_sessions_and_every_record_of_a_session_that_is_gone(make_user):
    ada = make_user()
    alive, expired, ended = browser_of(ada), browser_of(ada), browser_of(ada)
    Session.objects.filter(session_key=expired.session.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    session_store().delete(ended.session.session_key)  # ended behind the records' back
    now = timezone.now()
    ConsumedLogoutToken.objects.create(jti="stale", expires_at=now - datetime.timedelta(seconds=1))
    ConsumedLogoutToken.objects.create(jti="fresh", expires_at=now + datetime.timedelta(minutes=5))
    out = StringIO()

    call_command("prune_sessions", stdout=out)

    assert out.getvalue() == "forgot 2 ended sessions; dropped 1 expired logout-token ids\n"
    assert list(BrowserSession.objects.values_list("session_key", flat=True)) == [alive.session.session_key]
    assert not Session.objects.filter(session_key=expired.session.session_key).exists()
    assert list(ConsumedLogoutToken.objects.values_list("jti", flat=True)) == ["fresh"]
    assert alive.get("/").wsgi_request.user == ada


def test_prune_sessions_asks_a_cache_engine_about_each_record_in_batches(make_user, monkeypatch, settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    monkeypatch.setattr("accounts.sessions.PRUNE_BATCH_SIZE", 2)
    ada = make_user()
    browsers = [browser_of(ada) for _ in range(5)]
    for browser in browsers[::2]:
        session_store().delete(browser.session.session_key)

    call_command("prune_sessions", stdout=StringIO())

    assert set(BrowserSession.objects.values_list("session_key", flat=True)) == {
        browser.session.session_key for browser in browsers[1::2]
    }


def test_cookie_sessions_are_not_recorded_and_the_check_says_why(settings, make_user, capsys):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"

    browser_of(make_user())
    call_command("check")

    assert not BrowserSession.objects.exists()
    assert "accounts.W003" in capsys.readouterr().err


def test_the_check_is_quiet_about_sessions_kept_on_the_server(settings, capsys):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

    call_command("check")

    assert "accounts.W003" not in capsys.readouterr().err
