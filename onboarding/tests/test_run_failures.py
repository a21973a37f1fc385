"""Whatever goes wrong, ``onboard_user`` returns a run and never raises (but for an interrupt)."""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from onboarding import services
from onboarding.models import OnboardingRun, OnboardingStatus, UserOnboarding
from onboarding.recording import ABANDONED_RUN_ERROR, RUN_ALIVE_LOCK, Turn, _known_dead
from onboarding.selectors import blueprint_current
from onboarding.services import onboard_user
from onboarding.tests.faults import replace_onboarding_step


@pytest.mark.django_db
def test_a_failure_before_the_lock_is_recorded_on_the_run_not_raised(user, monkeypatch):
    def unreachable_database(run):
        # Failure injection: the first read of a run fails, as a lost database connection would.
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "take_turn", unreachable_database)

    run = onboard_user(user=user, trigger="login")

    run.refresh_from_db()
    assert (run.status, run.failed_step) == ("failed", "")
    assert run.error == "OperationalError: server closed the connection unexpectedly"
    assert not run.timed_out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_row_cannot_be_written_is_logged_and_returned_unsaved(user, caplog):
    # The user is deleted while signing in: no row can refer to them any more.
    from accounts.models import User

    User.objects.filter(pk=user.pk).delete()

    with caplog.at_level(logging.ERROR, logger="aether.onboarding"):
        run = onboard_user(user=user, trigger="login")

    assert (run.status, run.error) == ("failed", "The user no longer exists.")
    assert not OnboardingRun.objects.filter(pk=run.pk).exists()
    assert "onboarding run could not be recorded" in caplog.messages


@pytest.mark.django_db
def test_an_error_after_the_deadline_is_reported_as_what_it_is(user, settings, monkeypatch):
    settings.ONBOARDING_TIMEOUT_SECONDS = 1

    def slow_then_broken(real, ctx):
        # Failure injection: the step outlasts the run's time, then fails for a reason of its own.
        real(ctx)
        time.sleep(1.05)
        raise ValueError("the sample text is not valid")

    replace_onboarding_step(monkeypatch, "documents", slow_then_broken)

    run = onboard_user(user=user, trigger="login")

    assert (run.status, run.failed_step) == ("failed", "documents")
    assert run.error == "ValueError: the sample text is not valid"
    assert not run.timed_out


@pytest.mark.django_db
def test_a_skipped_run_does_not_count_as_an_attempt(user):
    onboard_user(user=user, trigger="login")
    skipped = onboard_user(user=user, trigger="api")
    forced = onboard_user(user=user, trigger="retry", force=True)

    assert (skipped.status, forced.status) == ("skipped", "completed")
    assert UserOnboarding.objects.get(user=user).attempts == 2


@pytest.mark.django_db
def test_a_failed_forced_run_counts_and_leaves_a_completed_onboarding_completed(user, fail_step):
    onboard_user(user=user, trigger="login")
    fail_step("agent")

    run = onboard_user(user=user, trigger="admin", force=True)

    state = UserOnboarding.objects.get(user=user)
    assert run.status == "failed"
    assert (state.status, state.attempts, state.last_error) == ("completed", 2, "")


def _killed_run(user, *, age: timedelta) -> OnboardingRun:
    """A run whose process died mid-way: its row still says running, and so does the user's state."""
    run = OnboardingRun.objects.create(
        user=user,
        trigger="login",
        blueprint_version=blueprint_current().version,
        started_at=timezone.now() - age,
    )
    UserOnboarding.objects.update_or_create(
        user=user, defaults={"status": OnboardingStatus.RUNNING, "attempts": 1}
    )
    UserOnboarding.objects.filter(user=user).update(updated_at=timezone.now() - age)
    return run


@pytest.mark.django_db
def test_the_next_run_closes_a_run_whose_process_was_killed(user, settings):
    timeout = settings.ONBOARDING_TIMEOUT_SECONDS
    killed = _killed_run(user, age=timedelta(seconds=timeout + 5))

    run = onboard_user(user=user, trigger="retry", force=True)

    killed.refresh_from_db()
    assert run.status == "completed"
    assert (killed.status, killed.error) == ("failed", ABANDONED_RUN_ERROR)
    assert killed.finished_at is not None
    assert UserOnboarding.objects.get(user=user).status == "completed"


@contextmanager
def alive_in_another_process(run: OnboardingRun) -> Iterator[None]:
    """Hold ``run``'s liveness lock on another connection, as the live process running it would."""
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", [RUN_ALIVE_LOCK, str(run.pk)])
                held.set()
                done.wait(timeout=30)
        finally:
            connection.close()  # the lock goes with the session

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(timeout=10)
        yield
    finally:
        done.set()
        holder.join(timeout=10)


@pytest.mark.postgres
@pytest.mark.django_db
def test_on_postgresql_a_run_without_a_process_is_closed_at_once(user):
    # Younger than the timeout, but nobody holds its lock: its connection went with its process.
    killed = _killed_run(user, age=timedelta(seconds=1))

    run = onboard_user(user=user, trigger="retry", force=True)

    killed.refresh_from_db()
    assert run.status == "completed"
    assert (killed.status, killed.error) == ("failed", ABANDONED_RUN_ERROR)
    assert killed.finished_at == run.finished_at


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_run_alive_in_another_process_stays_running(user):
    # Another process's run, recorded and waiting for its turn behind this one.
    waiting = OnboardingRun.objects.create(user=user, trigger="api", started_at=timezone.now())
    killed = _killed_run(user, age=timedelta(seconds=1))

    with alive_in_another_process(waiting):
        run = onboard_user(user=user, trigger="retry", force=True)

    waiting.refresh_from_db()
    killed.refresh_from_db()
    assert run.status == "completed"
    assert (waiting.status, waiting.finished_at) == ("running", None)
    assert killed.status == "failed"


def _alive_lock_granted(run_id) -> bool | None:
    """Whether some session holds the run's liveness lock (``None``: nobody asked for it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT bool_or(granted) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s"
            " AND objid = hashtext(%s)::oid AND objsubid = 2",
            [RUN_ALIVE_LOCK, str(run_id)],
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_waiting_for_its_turn_is_known_alive_and_lets_go_when_it_ends(user):
    from django.db import transaction

    from accounts.models import User
    from onboarding.recording import lock_onboarding_of

    turn_taken, release = threading.Event(), threading.Event()
    runs: list[OnboardingRun] = []

    def hold_the_users_turn() -> None:
        # Another run holding the user's turn, as ``lock_onboarding_of`` takes it.
        try:
            with transaction.atomic():
                lock_onboarding_of(user.pk)
                turn_taken.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def waiting_run() -> None:
        try:
            runs.append(onboard_user(user=User.objects.get(pk=user.pk), trigger="api"))
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_users_turn)
    holder.start()
    assert turn_taken.wait(timeout=10)
    waiter = threading.Thread(target=waiting_run)
    waiter.start()
    try:
        # Until the run is recorded and waits for the user's row (a bounded wait for that state).
        deadline = time.monotonic() + 10
        waiting = None
        while waiting is None and time.monotonic() < deadline:
            waiting = OnboardingRun.objects.filter(user=user, status="running").first()
            if waiting is None or _alive_lock_granted(waiting.pk) is not True:
                waiting = None
                time.sleep(0.01)
        assert waiting is not None, "the run never recorded itself and took its liveness lock"
        # What the run ahead of it does when it ends: this one is alive, so it is not closed.
        closed = OnboardingRun.objects.filter(
            _known_dead(older_than=timezone.now() - timedelta(hours=1)), pk=waiting.pk
        ).exists()
        assert not closed
    finally:
        release.set()
        holder.join(timeout=15)
        waiter.join(timeout=15)

    assert [run.status for run in runs] == ["completed"]
    assert _alive_lock_granted(runs[0].pk) is None


@pytest.mark.django_db
def test_a_killed_run_is_closed_even_when_the_next_run_fails(user, settings, fail_step):
    killed = _killed_run(user, age=timedelta(seconds=settings.ONBOARDING_TIMEOUT_SECONDS + 5))
    fail_step("notebook")

    onboard_user(user=user, trigger="retry", force=True)

    killed.refresh_from_db()
    assert killed.status == "failed"
    assert UserOnboarding.objects.get(user=user).status == "failed"


@pytest.mark.django_db
def test_the_dashboard_offers_a_retry_for_a_run_that_stopped(client, user, settings):
    _killed_run(user, age=timedelta(seconds=settings.ONBOARDING_TIMEOUT_SECONDS + 5))
    client.force_login(user)

    page = client.get("/").content.decode()

    assert "setting up your workspace stopped before it finished" in page
    assert "Try again</button>" in page


@pytest.mark.django_db
def test_the_dashboard_offers_no_retry_while_a_run_is_young(client, user):
    _killed_run(user, age=timedelta(seconds=1))
    client.force_login(user)

    page = client.get("/").content.decode()

    assert "Reload the page in a moment" in page
    assert "Try again</button>" not in page


@pytest.mark.django_db
def test_a_run_that_fails_before_anything_exists_leaves_the_user_failed(user, monkeypatch):
    def unreachable_database(run):
        # Failure injection: the run's first read fails; no state row exists for the user yet.
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "take_turn", unreachable_database)

    onboard_user(user=user, trigger="login")

    state = UserOnboarding.objects.get(user=user)
    assert (state.status, state.attempts) == ("failed", 1)
    assert state.last_error == "OperationalError: server closed the connection unexpectedly"


@pytest.mark.django_db
def test_a_run_that_fails_early_after_one_that_completed_leaves_the_user_completed(user, monkeypatch):
    onboard_user(user=user, trigger="login")
    # As if every version had been deleted: the run finds no blueprint when it takes its turn.
    monkeypatch.setattr(services, "take_turn", lambda run: Turn(None, None, others_running=False))

    run = onboard_user(user=user, trigger="admin", force=True)

    state = UserOnboarding.objects.get(user=user)
    assert (run.status, run.error) == ("failed", "No onboarding blueprint is configured.")
    assert (state.status, state.attempts, state.last_error) == ("completed", 2, "")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_timed_out_by_a_locked_table_leaves_the_user_failed(user, settings):
    """A migration or a long admin transaction holds the blueprint table: the run cannot even begin."""
    import threading

    from django.db import connection, transaction

    settings.ONBOARDING_TIMEOUT_SECONDS = 1
    locked, release = threading.Event(), threading.Event()

    def hold_the_blueprint_table() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("LOCK TABLE onboarding_blueprint IN ACCESS EXCLUSIVE MODE")
                locked.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_blueprint_table)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        run = onboard_user(user=user, trigger="login")
    finally:
        release.set()
        holder.join(timeout=15)

    assert (run.status, run.failed_step, run.timed_out) == ("failed", "", True)
    state = UserOnboarding.objects.get(user=user)
    assert (state.status, state.attempts) == ("failed", 1)
    assert "timed out after 1 s" in state.last_error
