"""Concurrent runs for one user, each on its own database connection, as separate processes would be."""

import threading

import pytest
from django.db import connection

from accounts.models import Space, User
from notebooks.models import Agent, Document, Notebook
from onboarding.models import OnboardingRun
from onboarding.services import onboard_user

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


def test_forced_concurrent_runs_create_nothing_twice(user):
    runs = run_at_once(user.pk, 4, trigger="admin", force=True)

    assert [run.status for run in runs] == ["completed"] * 4
    created = sorted(sum(run.created.values()) for run in runs)
    assert created == [0, 0, 0, 6]
    assert_one_of_each(user)
