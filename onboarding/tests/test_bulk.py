"""Onboarding many users at once (``onboarding.bulk``): each user's guarantees, a chunk per transaction."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Space, User
from notebooks.models import Agent, Document, Notebook
from onboarding.bulk import onboard_users
from onboarding.models import OnboardingRun, OnboardingStep, UserOnboarding
from onboarding.recording import ABANDONED_RUN_ERROR
from onboarding.services import onboard_after_sign_in, onboard_user
from onboarding.signals import onboarding_completed
from onboarding.tests.faults import replace_onboarding_step
from onboarding.tests.test_killed_worker import agents_table_locked, client_port_waiting_for_the_agents_table
from onboarding.tests.test_onboard_user_command import bulk_users

CREATED_ALL = {"personal_space": 1, "notebook": 1, "documents": 3, "agent": 1}


def new_users(count: int, prefix: str) -> list[User]:
    """Users as sign-in leaves them, before their onboarding, in the order the command takes them."""
    return sorted(bulk_users(count, prefix), key=lambda user: user.pk)


def assert_one_of_each(user: User) -> None:
    assert Space.objects.filter(owner=user, type="personal").count() == 1
    assert Membership.objects.filter(user=user, space__owner=user, role="owner").count() == 1
    assert Notebook.objects.filter(owner=user).count() == 1
    assert Document.objects.filter(notebook__owner=user).count() == 3
    assert Agent.objects.filter(owner=user).count() == 1
    assert list(Agent.objects.get(owner=user).knowledge_notebooks.all()) == [Notebook.objects.get(owner=user)]


@pytest.mark.django_db
def test_every_user_gets_one_of_each_resource_and_a_recorded_run():
    users = new_users(5, "chunked")

    runs = onboard_users(users=users, trigger="command", chunk_size=2)

    assert [run.user_id for run in runs] == [user.pk for user in users]
    for user, run in zip(users, runs, strict=True):
        assert_one_of_each(user)
        recorded = OnboardingRun.objects.get(user=user)
        assert recorded.pk == run.pk
        assert (recorded.trigger, recorded.status, recorded.created) == ("command", "completed", CREATED_ALL)
        assert recorded.blueprint_version == 1 and recorded.finished_at and recorded.duration_ms is not None
        steps = list(recorded.steps.order_by("position").values_list("name", "status", "created_count"))
        assert steps == [
            ("personal_space", "succeeded", 1),
            ("notebook", "succeeded", 1),
            ("documents", "succeeded", 3),
            ("agent", "succeeded", 1),
        ]
        state = UserOnboarding.objects.get(user=user)
        assert (state.status, state.attempts, state.blueprint_version) == ("completed", 1, 1)
        assert (state.space.owner_id, state.notebook.owner_id, state.agent.owner_id) == (user.pk,) * 3
        assert state.space.name == f"{user.full_name}'s Personal Space"


@pytest.mark.django_db
def test_a_chunk_sends_as_many_statements_for_forty_users_as_for_four():
    def statements(count: int, prefix: str) -> int:
        users = new_users(count, prefix)
        with CaptureQueriesContext(connection) as queries:
            onboard_users(users=users, trigger="command")
        # The deadline's bound is set again before a step once enough time has passed: on a busy
        # machine, a matter of time rather than of the number of users.
        return len([query for query in queries if "set_config('statement_timeout'" not in query["sql"]])

    assert statements(40, "forty") == statements(4, "four")


@pytest.mark.django_db
def test_completed_users_are_skipped_and_forced_ones_get_only_what_is_missing(make_user):
    completed, partial = make_user(), make_user()
    onboard_user(user=completed, trigger="login")
    onboard_user(user=partial, trigger="login")
    Document.objects.filter(notebook__owner=partial, name="Sample FAQ.txt").delete()

    skipped = onboard_users(users=[completed, partial], trigger="command")
    forced = onboard_users(users=[completed, partial], trigger="command", force=True)

    assert [run.status for run in skipped] == ["skipped", "skipped"]
    assert not OnboardingStep.objects.filter(run__in=skipped).exists()
    assert [(run.status, run.created["documents"]) for run in forced] == [("completed", 0), ("completed", 1)]
    assert_one_of_each(completed)
    assert_one_of_each(partial)
    assert UserOnboarding.objects.get(user=partial).attempts == 2


@pytest.mark.django_db(transaction=True)
def test_a_failing_user_is_recorded_with_the_failing_step_and_the_others_complete(monkeypatch):
    users = new_users(6, "faulty")
    broken = users[3]

    def documents_failing_for_one_user(real, workspace):
        # Failure injection: the documents step breaks for one user, after making their rows.
        created = real(workspace)
        if workspace.user.pk == broken.pk:
            raise RuntimeError("document store unavailable")
        return created

    replace_onboarding_step(monkeypatch, "documents", documents_failing_for_one_user)

    runs = onboard_users(users=users, trigger="command")

    assert [run.status for run in runs] == ["completed"] * 3 + ["failed"] + ["completed"] * 2
    failed = OnboardingRun.objects.get(user=broken)
    assert (failed.failed_step, failed.error) == ("documents", "RuntimeError: document store unavailable")
    steps = dict(failed.steps.values_list("name", "status"))
    assert steps == {
        "personal_space": "rolled_back",
        "notebook": "rolled_back",
        "documents": "failed",
        "agent": "not_run",
    }
    state = UserOnboarding.objects.get(user=broken)
    assert (state.status, state.last_error) == (
        "failed",
        "documents: RuntimeError: document store unavailable",
    )
    assert (
        not Space.objects.filter(owner=broken).exists() and not Notebook.objects.filter(owner=broken).exists()
    )
    for user in users:
        # One run each: the chunk's attempt and the user's own are the same recorded run.
        assert OnboardingRun.objects.filter(user=user).count() == 1
        if user != broken:
            assert_one_of_each(user)
            assert UserOnboarding.objects.get(user=user).status == "completed"


@pytest.mark.django_db(transaction=True)
def test_the_runs_are_recorded_as_running_before_the_chunks_work_begins(monkeypatch):
    users = new_users(3, "traced")
    seen_from_elsewhere: list[list[str]] = []

    def look_from_another_connection(real, workspace):
        # What another process (the admin, or the next run after a crash) sees meanwhile.
        def look() -> None:
            try:
                seen_from_elsewhere.append(
                    list(OnboardingRun.objects.filter(user__in=users).values_list("status", flat=True))
                )
            finally:
                connection.close()

        if not seen_from_elsewhere:
            thread = threading.Thread(target=look)
            thread.start()
            thread.join(timeout=10)
        return real(workspace)

    replace_onboarding_step(monkeypatch, "notebook", look_from_another_connection)

    onboard_users(users=users, trigger="command")

    assert seen_from_elsewhere == [["running"] * 3]
    assert (
        list(OnboardingRun.objects.filter(user__in=users).values_list("status", flat=True))
        == ["completed"] * 3
    )


@pytest.mark.django_db(transaction=True)
def test_signals_are_sent_for_each_user_once_the_chunk_is_committed():
    users = new_users(3, "announced")
    received: list[tuple[object, bool, bool]] = []

    def receiver(sender, user, run, **kwargs):
        # Committed: visible from another connection, as a receiver's follow-up work would read it.
        def committed() -> None:
            try:
                received.append(
                    (
                        user.pk,
                        UserOnboarding.objects.filter(user=user, status="completed").exists(),
                        OnboardingRun.objects.filter(pk=run.pk, status="completed").exists(),
                    )
                )
            finally:
                connection.close()

        thread = threading.Thread(target=committed)
        thread.start()
        thread.join(timeout=10)

    onboarding_completed.connect(receiver, dispatch_uid="test-bulk-announced")
    try:
        onboard_users(users=users, trigger="command")
    finally:
        onboarding_completed.disconnect(dispatch_uid="test-bulk-announced")

    assert received == [(user.pk, True, True) for user in users]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sign_in_during_the_chunk_waits_for_it_and_duplicates_nothing(monkeypatch):
    users = new_users(4, "racing")
    signing_in = users[2]
    chunk_in_documents = threading.Event()
    sign_in_waiting = threading.Event()
    sign_in_runs: list[OnboardingRun | None] = []
    errors: list[BaseException] = []

    def documents_held_open(real, workspace):
        # The chunk holds its users' locks while a sign-in of one of them arrives.
        created = real(workspace)
        if workspace.user.pk == signing_in.pk:
            chunk_in_documents.set()
            assert sign_in_waiting.wait(timeout=10)
            time.sleep(0.3)  # the sign-in is blocked on the user's row by now
        return created

    def sign_in() -> None:
        try:
            assert chunk_in_documents.wait(timeout=10)
            sign_in_waiting.set()
            user = User.objects.get(pk=signing_in.pk)
            sign_in_runs.append(onboard_after_sign_in(user=user, via="browser"))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    replace_onboarding_step(monkeypatch, "documents", documents_held_open)
    thread = threading.Thread(target=sign_in)
    thread.start()
    runs = onboard_users(users=users, trigger="command")
    thread.join(timeout=15)

    assert not errors, errors
    assert [run.status for run in runs] == ["completed"] * 4
    # The sign-in had read "not completed" before the chunk committed; it then took its turn.
    (sign_in_run,) = sign_in_runs
    assert sign_in_run is not None and (sign_in_run.trigger, sign_in_run.status) == ("login", "skipped")
    for user in users:
        assert_one_of_each(user)
    assert UserOnboarding.objects.get(user=signing_in).attempts == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_processes_over_overlapping_users_take_turns_without_deadlock():
    users = new_users(12, "overlap")
    # The same users, taken in opposite orders: their rows are locked by primary key all the same.
    orders = [users, list(reversed(users))]
    results: list[list[OnboardingRun]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def command(order: list[User]) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(onboard_users(users=order, trigger="command", chunk_size=12))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=command, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors and len(results) == 2, errors
    statuses = sorted(sorted({run.status for run in runs}) for runs in results)
    assert statuses == [["completed"], ["skipped"]]
    for user in users:
        assert_one_of_each(user)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_chunk_that_outlasts_the_timeout_rolls_back_and_each_user_is_onboarded_alone(
    monkeypatch, settings, caplog
):
    settings.ONBOARDING_TIMEOUT_SECONDS = 1
    users = new_users(3, "slow")
    calls: list[int] = []

    def agent_slow_in_the_chunk(real, workspace):
        # Failure injection: the database is slow while the chunk runs, then recovers.
        calls.append(1)
        if len(calls) == 1:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(2)")
        return real(workspace)

    replace_onboarding_step(monkeypatch, "agent", agent_slow_in_the_chunk)
    started = time.monotonic()

    runs = onboard_users(users=users, trigger="command")

    # PostgreSQL cancelled the chunk's statement when its second was over.
    assert time.monotonic() - started < 2
    assert [run.status for run in runs] == ["completed"] * 3
    assert "onboarding a chunk of users failed; onboarding them one by one" in caplog.text
    for user in users:
        assert_one_of_each(user)
        assert OnboardingRun.objects.filter(user=user).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_command_killed_mid_chunk_leaves_its_runs_to_be_closed_by_each_users_next_run():
    """The command as a real process, killed (SIGKILL) while its chunk waits to insert the agents."""
    users = new_users(3, "killed")
    db = connection.settings_dict
    environment = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "aether.test_settings",
        # Long enough that only the runs' liveness locks, not their age, can tell that they died.
        "ONBOARDING_TIMEOUT_SECONDS": "60",
    }
    with agents_table_locked():
        command = subprocess.Popen(
            [sys.executable, "manage.py", "onboard_user", "--all-incomplete"],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            client_port_waiting_for_the_agents_table()
            # Mid-chunk: spaces, notebooks and documents written, not committed; the runs recorded.
            assert (
                list(OnboardingRun.objects.filter(user__in=users).values_list("status", flat=True))
                == ["running"] * 3
            )
        finally:
            command.send_signal(signal.SIGKILL)
            command.wait(timeout=30)

    assert not Notebook.objects.filter(owner__in=users).exists()
    signed_in = onboard_user(user=users[0], trigger="login")

    assert signed_in.status == "completed"
    killed = OnboardingRun.objects.get(user=users[0], trigger="command")
    assert (killed.status, killed.error) == ("failed", ABANDONED_RUN_ERROR)
    assert_one_of_each(users[0])
    # The other users' runs wait for their own next run, which the command is.
    assert OnboardingRun.objects.get(user=users[1]).status == "running"
    runs = onboard_users(users=users[1:], trigger="command")
    assert [run.status for run in runs] == ["completed", "completed"]
    for user in users[1:]:
        assert OnboardingRun.objects.get(user=user, status="failed").error == ABANDONED_RUN_ERROR
        assert_one_of_each(user)
