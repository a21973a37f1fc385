"""A user's roll-out change in one statement (PostgreSQL), and the usual path it falls back to when the
user's state or copies changed after the batch read them."""

import threading
import time

import pytest
from django.db import connection, transaction

from notebooks.models import Document
from onboarding import rollouts
from onboarding.models import OnboardingRun, RolloutUser, UserOnboarding
from onboarding.recording import lock_onboarding_of
from onboarding.rollouts import rollout_progress, rollout_run_batch, rollout_start
from onboarding.services import onboard_user
from onboarding.tests.rollout_fixtures import NEW_WELCOME, publish_version_2

pytestmark = pytest.mark.postgres

EDITED = "My own welcome notes.\n"


def welcome_of(user) -> Document:
    return Document.objects.get(notebook__owner=user, onboarding_key="welcome")


def after_the_batch_read(monkeypatch, change) -> None:
    """Make ``change`` right after the batch read its users' states and documents, before any turn."""
    real = rollouts.held_documents

    def read_then_change(user_ids):
        held = real(user_ids)
        change()
        return held

    monkeypatch.setattr(rollouts, "held_documents", read_then_change)


@pytest.mark.django_db
def test_a_text_edited_after_the_batch_read_it_is_kept(on_version_1, queue, monkeypatch):
    publish_version_2()
    user = on_version_1.untouched
    received_before = UserOnboarding.objects.get(user=user).received["welcome"]
    after_the_batch_read(
        monkeypatch, lambda: Document.objects.filter(pk=welcome_of(user).pk).update(content=EDITED)
    )
    rollout = rollout_start(actor=None)

    queue.work()

    assert welcome_of(user).content == EDITED
    state = UserOnboarding.objects.get(user=user)
    assert state.blueprint_version == 2
    # The receipt still names the text they had, not version 2's.
    assert state.received["welcome"]["sha256"] == received_before["sha256"]
    assert "release-notes" in state.received
    assert welcome_of(on_version_1.deleted).content == NEW_WELCOME  # the others as decided
    progress = rollout_progress(rollout)
    assert (progress.done, progress.failed, progress.skipped) == (3, 0, 0)
    assert OnboardingRun.objects.filter(user=user, trigger="rollout", status="completed").count() == 1


@pytest.mark.django_db
def test_a_user_re_run_to_version_2_after_the_batch_read_is_skipped(on_version_1, queue, monkeypatch):
    publish_version_2()
    user = on_version_1.renamed
    after_the_batch_read(monkeypatch, lambda: onboard_user(user=user, trigger="admin", force=True))
    rollout = rollout_start(actor=None)

    queue.work()

    progress = rollout_progress(rollout)
    assert (progress.done, progress.skipped) == (2, 1)
    assert RolloutUser.objects.get(rollout=rollout, user=user).outcome == "skipped"
    assert not OnboardingRun.objects.filter(user=user, trigger="rollout").exists()
    assert welcome_of(user).name == "My welcome.txt"


def batch_while_the_lock_is_held(user, rollout, change, statement: str) -> None:
    """Run a batch of ``rollout`` while another transaction holds onboarding's lock on ``user``; once the
    batch's ``statement`` waits for that lock, make ``change`` in the holding transaction and commit."""
    locked, go = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def holder() -> None:
        try:
            with transaction.atomic():
                lock_onboarding_of(user.pk)
                locked.set()
                go.wait(timeout=30)
                change()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def worker() -> None:
        try:
            rollout_run_batch(rollout_id=rollout.pk, ticket=str(rollout.ticket))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=holder), threading.Thread(target=worker)]
    threads[0].start()
    assert locked.wait(timeout=30)
    threads[1].start()
    wait_for_a_statement_waiting_for_a_lock(statement)
    go.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_an_edit_committed_while_the_statement_waits_for_the_lock_is_kept(make_user):
    user = make_user()
    onboard_user(user=user, trigger="login")
    publish_version_2()
    rollout = rollout_start(actor=None)

    # A sign-in or re-run of the user's, holding onboarding's lock while the user edits their copy.
    batch_while_the_lock_is_held(
        user,
        rollout,
        lambda: Document.objects.filter(pk=welcome_of(user).pk).update(content=EDITED),
        "WITH turn AS",
    )

    assert welcome_of(user).content == EDITED
    assert UserOnboarding.objects.get(user=user).blueprint_version == 2
    assert rollout_progress(rollout).done == 1


@pytest.mark.django_db(transaction=True)
def test_the_usual_path_reads_the_state_after_the_lock_and_sees_a_run_that_held_it(make_user, monkeypatch):
    user = make_user()
    onboard_user(user=user, trigger="login")
    publish_version_2()
    rollout = rollout_start(actor=None)
    # Nothing read up front: every user takes the usual path (as on SQLite).
    monkeypatch.setattr(rollouts, "states_as_read", lambda user_ids: {})

    # An admin's re-run, which brings the user to version 2 while the roll-out waits for its turn.
    batch_while_the_lock_is_held(
        user, rollout, lambda: onboard_user(user=user, trigger="admin", force=True), "FOR NO KEY UPDATE"
    )

    assert RolloutUser.objects.get(rollout=rollout, user=user).outcome == "skipped"
    assert not OnboardingRun.objects.filter(user=user, trigger="rollout").exists()
    assert Document.objects.filter(notebook__owner=user, onboarding_key="release-notes").count() == 1


def wait_for_a_statement_waiting_for_a_lock(statement: str) -> None:
    deadline = time.monotonic() + 30
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE %s AND pid <> pg_backend_pid()",
                [f"%{statement}%"],
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError(f"no statement like {statement!r} waited for a lock")
