"""Onboarding runs in the Prometheus metrics: counted once committed, as what they finally were."""

import pytest

from aether.metrics import METRICS
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db


def sample(name: str, **labels: str) -> float:
    return METRICS.get_sample_value(name, labels) or 0.0


class Figures:
    """This process's metrics before an action, to read what the action added."""

    def __init__(self) -> None:
        self.before = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in METRICS.collect()
            for sample in family.samples
        }

    def added(self, name: str, **labels: str) -> float:
        return sample(name, **labels) - self.before.get((name, frozenset(labels.items())), 0.0)


def test_a_completed_run_is_counted_and_timed_with_its_four_steps(user, django_capture_on_commit_callbacks):
    figures = Figures()

    with django_capture_on_commit_callbacks(execute=True):
        run = onboard_user(user=user, trigger="command")

    assert run.status == "completed"
    assert figures.added("aether_onboarding_runs_total", trigger="command", status="completed") == 1
    assert figures.added("aether_onboarding_run_duration_seconds_count", trigger="command") == 1
    for step in ("personal_space", "notebook", "documents", "agent"):
        assert figures.added("aether_onboarding_step_duration_seconds_count", step=step) == 1
        assert figures.added("aether_onboarding_step_failures_total", step=step) == 0


def test_a_failed_run_counts_against_its_step_and_times_the_steps_that_ran(
    user, fail_step, django_capture_on_commit_callbacks
):
    fail_step("documents")
    figures = Figures()

    with django_capture_on_commit_callbacks(execute=True):
        run = onboard_user(user=user, trigger="login")

    assert (run.status, run.failed_step) == ("failed", "documents")
    assert figures.added("aether_onboarding_runs_total", trigger="login", status="failed") == 1
    assert figures.added("aether_onboarding_step_failures_total", step="documents") == 1
    assert figures.added("aether_onboarding_step_failures_total", step="notebook") == 0
    # Rolled back or failed, these steps ran; the agent never did.
    for step in ("personal_space", "notebook", "documents"):
        assert figures.added("aether_onboarding_step_duration_seconds_count", step=step) == 1
    assert figures.added("aether_onboarding_step_duration_seconds_count", step="agent") == 0


def test_a_skipped_run_is_counted_but_not_timed(ada, django_capture_on_commit_callbacks):
    figures = Figures()

    with django_capture_on_commit_callbacks(execute=True):
        run = onboard_user(user=ada, trigger="login")

    assert run.status == "skipped"
    assert figures.added("aether_onboarding_runs_total", trigger="login", status="skipped") == 1
    assert figures.added("aether_onboarding_run_duration_seconds_count", trigger="login") == 0


def test_a_run_is_counted_only_once_its_record_is_committed(user, django_capture_on_commit_callbacks):
    figures = Figures()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        onboard_user(user=user, trigger="admin")
        assert figures.added("aether_onboarding_runs_total", trigger="admin", status="completed") == 0

    # A caller's transaction that rolls back never runs the callbacks: the run is not counted.
    assert figures.added("aether_onboarding_runs_total", trigger="admin", status="completed") == 0
    for callback in callbacks:
        callback()
    assert figures.added("aether_onboarding_runs_total", trigger="admin", status="completed") == 1


def test_metrics_that_cannot_be_written_never_fail_a_run(
    user, monkeypatch, django_capture_on_commit_callbacks
):
    from onboarding import metrics

    def broken(*args, **kwargs):  # a full or read-only multiprocess directory, which cannot be staged here
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(metrics.RUNS, "labels", broken)

    with django_capture_on_commit_callbacks(execute=True):
        run = onboard_user(user=user, trigger="command")

    assert run.status == "completed"
    user.onboarding.refresh_from_db()
    assert user.onboarding.status == "completed"
