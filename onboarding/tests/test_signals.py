"""``onboarding_completed`` and ``onboarding_failed`` are sent once the run's outcome is committed."""

import logging

import pytest
from django.db import transaction

from onboarding.models import OnboardingRun
from onboarding.services import onboard_user
from onboarding.signals import onboarding_completed, onboarding_failed

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    """Every (signal name, user, run) sent while the test runs."""
    sent: list[tuple[str, object, OnboardingRun]] = []

    def on_completed(sender, *, user, run, **kwargs):
        sent.append(("completed", user, run))

    def on_failed(sender, *, user, run, **kwargs):
        sent.append(("failed", user, run))

    onboarding_completed.connect(on_completed, dispatch_uid="test-completed")
    onboarding_failed.connect(on_failed, dispatch_uid="test-failed")
    yield sent
    onboarding_completed.disconnect(dispatch_uid="test-completed")
    onboarding_failed.disconnect(dispatch_uid="test-failed")


def test_a_completed_run_is_announced_once_after_commit(user, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = onboard_user(user=user, trigger="login")
        assert received == []  # not before the commit

    assert received == [("completed", user, run)]


def test_a_failed_run_is_announced_once_after_commit(
    user, received, fail_step, django_capture_on_commit_callbacks
):
    fail_step("notebook")

    with django_capture_on_commit_callbacks(execute=True):
        run = onboard_user(user=user, trigger="login")

    assert received == [("failed", user, run)]
    assert run.status == "failed"


def test_a_skipped_run_sends_nothing(user, received, django_capture_on_commit_callbacks):
    onboard_user(user=user, trigger="login")

    with django_capture_on_commit_callbacks(execute=True):
        onboard_user(user=user, trigger="login")

    assert received == []


def test_nothing_is_sent_when_the_callers_transaction_rolls_back(
    user, received, django_capture_on_commit_callbacks
):
    class CallerGaveUp(Exception):
        pass

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(CallerGaveUp),
        transaction.atomic(),
    ):
        onboard_user(user=user, trigger="command")
        raise CallerGaveUp

    assert callbacks == []
    assert received == []


def test_a_receiver_that_raises_is_logged_and_the_run_still_returned(
    user, caplog, django_capture_on_commit_callbacks
):
    def broken_receiver(sender, **kwargs):
        raise RuntimeError("the mail server is down")

    onboarding_completed.connect(broken_receiver, dispatch_uid="test-broken")
    try:
        with (
            caplog.at_level(logging.ERROR, logger="aether.onboarding"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            run = onboard_user(user=user, trigger="login")
    finally:
        onboarding_completed.disconnect(dispatch_uid="test-broken")

    assert run.status == "completed"
    record = next(r for r in caplog.records if r.getMessage() == "an onboarding signal receiver failed")
    assert "the mail server is down" in str(record.exc_info[1])
