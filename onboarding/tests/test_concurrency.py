"""Concurrent runs for one user, each on its own database connection, as separate processes would be."""

import threading
import time

import pytest
from django.db import connection, transaction

from accounts.models import Space, User
from notebooks.models import Agent, Document, Notebook
from onboarding.models import OnboardingRun, UserOnboarding
from onboarding.recording import ABANDONED_RUN_ERROR
from onboarding.services import onboard_user
from onboarding.tests.faults import replace_onboarding_step

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_at_once(user_id, count: int, **options) -> list[OnboardingRun]:
    barrier = threading.Barrier(count)
    runs: list[OnboardingRun] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            user = User.objects.get(pk=user_id)  # each thread opens its own connection
            barrier.wait(timeout=10)
            runs.append(onboard_user(user=user, **options))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert len(runs) == count
    return runs


def assert_one_of_each(user) -> None:
    assert Space.objects.filter(owner=user, type="personal").count() == 1
    assert Notebook.objects.filter(owner=user).count() == 1
    assert Document.objects.filter(notebook__owner=user).count() == 3
    assert Agent.objects.filter(owner=user).count() == 1


def test_two_runs_started_at_the_same_moment_leave_one_of_each(user):
    runs = run_at_once(user.pk, 2, trigger="login")

    assert sorted(run.status for run in runs) == ["completed", "skipped"]
    assert_one_of_each(user)
    # The skipped run did nothing: it is not an attempt.
    assert UserOnboarding.objects.get(user=user).attempts == 1


def test_forced_concurrent_runs_create_nothing_twice(user):
    runs = run_at_once(user.pk, 4, trigger="admin", force=True)

    assert [run.status for run in runs] == ["completed"] * 4
    created = sorted(sum(run.created.values()) for run in runs)
    assert created == [0, 0, 0, 6]
    assert_one_of_each(user)


def test_a_step_gets_only_what_is_left_of_the_runs_time(user, settings, monkeypatch):
    settings.ONBOARDING_TIMEOUT_SECONDS = 2

    def slow_documents(real, ctx):
        # Failure injection: the step takes most of the run's time, as an overloaded database would.
        created = real(ctx)
        time.sleep(1.5)
        return created

    def agent_behind_a_slow_query(real, ctx):
        created = real(ctx)
        with connection.cursor() as cursor:
            # Long, so that the bound below tells a cancelled statement from a finished one however
            # loaded the machine is.
            cursor.execute("SELECT pg_sleep(30)")
        return created

    replace_onboarding_step(monkeypatch, "documents", slow_documents)
    replace_onboarding_step(monkeypatch, "agent", agent_behind_a_slow_query)
    started = time.monotonic()

    run = onboard_user(user=user, trigger="login")

    # Cancelled when the run's 2 s are over (not 2 s after the last step began), long before 30 s.
    assert time.monotonic() - started < 15
    assert (run.status, run.failed_step, run.timed_out) == ("failed", "agent", True)


def test_a_sign_in_does_not_wait_behind_another_process_holding_the_users_state(user, settings):
    settings.ONBOARDING_TIMEOUT_SECONDS = 1
    onboard_user(user=user, trigger="login", force=True)  # the state row exists
    UserOnboarding.objects.filter(user=user).update(status="failed")
    locked = threading.Event()
    release = threading.Event()

    def hold_the_state_row() -> None:
        # Another process's run (or a stuck admin transaction) holding the row for a long time.
        try:
            with transaction.atomic():
                UserOnboarding.objects.select_for_update().get(pk=user.pk)
                locked.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_state_row)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        started = time.monotonic()
        run = onboard_user(user=user, trigger="login")
        waited = time.monotonic() - started
    finally:
        release.set()
        holder.join(timeout=70)

    # One bound before the lock, one for recording the failure (2 s): never the other transaction's
    # length (60 s), however loaded the machine is.
    assert waited < 20
    assert (run.status, run.timed_out) == ("failed", True)
    assert OnboardingRun.objects.filter(pk=run.pk, status="failed").exists()


STALLED_RUN = """
import sys, time
import django

django.setup()
from accounts.models import User
from onboarding import steps
from onboarding.services import onboard_user


class Stalled(steps.Step):
    def run(self, workspace):
        created = super().run(workspace)
        print("documents inserted", flush=True)
        time.sleep(60)
        return created


steps.STEPS = tuple(
    Stalled(s.name, s.label, s.failure_sentence, s.missing) if s.name == "documents" else s
    for s in steps.STEPS
)
onboard_user(user=User.objects.get(pk=sys.argv[1]), trigger="login")
"""


def test_a_run_killed_mid_way_leaves_nothing_behind_and_the_next_run_completes(user):
    """A worker killed by its supervisor (SIGKILL) in the middle of a run, as a real process."""
    import os
    import signal
    import subprocess
    import sys

    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    process = subprocess.Popen(
        [sys.executable, "-c", STALLED_RUN, str(user.pk)],
        env={**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "aether.test_settings"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "documents inserted"
        # Mid-run, nobody else sees anything of it but the record that it is running.
        assert list(OnboardingRun.objects.filter(user=user).values_list("status", flat=True)) == ["running"]
        assert not Notebook.objects.filter(owner=user).exists()
        assert not UserOnboarding.objects.filter(user=user).exists()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()
        process.stdout.close()

    started = time.monotonic()
    run = onboard_user(user=User.objects.get(pk=user.pk), trigger="login")

    # The killed run's lock went with its connection: no wait for its timeout (10 s), which a run
    # waiting that long would not survive either.
    assert time.monotonic() - started < 8
    assert run.status == "completed"
    assert_one_of_each(user)
    killed, next_run = OnboardingRun.objects.filter(user=user).order_by("started_at")
    assert (next_run.pk, next_run.status) == (run.pk, "completed")
    # Its liveness lock went with its connection: the next run knows it dead and closes it at once.
    assert (killed.status, killed.error) == ("failed", ABANDONED_RUN_ERROR)
    assert UserOnboarding.objects.get(user=user).status == "completed"
