"""``manage.py blueprint rollout`` and ``blueprint rollouts``, as an operator runs them."""

import re
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from onboarding.management import rollout_subcommands
from onboarding.models import Rollout
from onboarding.tests.rollout_fixtures import publish_version_2
from onboarding.tests.workers import database_url, start_worker, stop

pytestmark = pytest.mark.django_db


def blueprint(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("blueprint", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_dry_run_counts_each_change_and_starts_nothing(on_version_1):
    publish_version_2()

    out, _ = blueprint("rollout", "--dry-run")

    everyone = "deleted@example.com, renamed@example.com, untouched@example.com"
    assert out.splitlines() == [
        "Rolling out version 2 would reach 3 users on version 1:",
        f"  documents added: 3 documents, 3 users ({everyone})",
        f"  texts updated: 3 documents, 3 users ({everyone})",
        "  renamed by the user: their name is kept: 1 document, 1 user (renamed@example.com)",
        "  deleted by the user: stays deleted: 1 document, 1 user (deleted@example.com)",
        "Nothing was started (--dry-run).",
    ]
    assert not Rollout.objects.exists()


def test_start_list_and_a_second_start_refused(on_version_1, queue):
    publish_version_2()

    out, _ = blueprint("rollout")
    rollout = Rollout.objects.get()
    assert out == f"started roll-out {rollout.pk}: version 2 to 3 users on version 1\n"
    with pytest.raises(
        CommandError, match=rf"Roll-out {rollout.pk} \(version 2\) is running: only one"
    ) as refused:
        blueprint("rollout")
    assert refused.value.returncode == 1

    queue.work()
    listed, _ = blueprint("rollouts")
    header, row = listed.splitlines()
    assert header.split() == [
        "ID",
        "STATUS",
        "TO",
        "FROM",
        "DONE",
        "FAILED",
        "SKIPPED",
        "REMAINING",
        "STARTED",
        "FINISHED",
    ]
    assert row.split()[:8] == [str(rollout.pk), "completed", "2", "1", "3", "0", "0", "0"]
    out, _ = blueprint("rollout")
    assert out == "Every onboarded user has version 2 already: nothing to roll out.\n"


def test_pause_resume_and_cancel_the_roll_out_under_way(on_version_1, queue):
    publish_version_2()
    with pytest.raises(CommandError, match="No roll-out is running or paused: there is none to pause"):
        blueprint("rollouts", "--pause")
    blueprint("rollout")
    rollout = Rollout.objects.get()

    out, _ = blueprint("rollouts", "--pause")
    assert out.splitlines()[0] == f"roll-out {rollout.pk} is paused now"
    assert out.splitlines()[2].split()[:2] == [str(rollout.pk), "paused"]
    with pytest.raises(CommandError, match="is paused; only a running roll-out can be paused"):
        blueprint("rollouts", "--pause")
    assert blueprint("rollouts", "--resume")[0].startswith(f"roll-out {rollout.pk} is running now")
    assert blueprint("rollouts", "--cancel")[0].startswith(f"roll-out {rollout.pk} is cancelled now")
    queue.work()
    assert Rollout.objects.get().status == "cancelled"


def test_wait_prints_progress_and_fails_when_a_user_failed(
    on_version_1, queue, monkeypatch, fail_rollout_writes_for
):
    fail_rollout_writes_for(on_version_1.renamed)
    # While --wait sleeps, the worker runs a batch.
    monkeypatch.setattr(rollout_subcommands.time, "sleep", lambda seconds: queue.work(limit=1))
    publish_version_2()

    out = StringIO()
    with pytest.raises(CommandError, match="1 user could not be brought to version 2") as failed:
        call_command("blueprint", "rollout", "--wait", "--batch-size", "2", stdout=out)

    assert failed.value.returncode == 1
    rollout = Rollout.objects.get()
    started, before, between, after = out.getvalue().splitlines()
    assert started == f"started roll-out {rollout.pk}: version 2 to 3 users on version 1"
    assert before == f"roll-out {rollout.pk} running: 0 done, 0 failed, 0 skipped, 3 remaining of 3 (0%)"
    # Users go by id: the one who fails may come in the first batch of two or in the second.
    assert re.fullmatch(
        rf"roll-out {rollout.pk} running: [12] done, [01] failed, 0 skipped, 1 remaining of 3 \(66%\)",
        between,
    )
    assert after == f"roll-out {rollout.pk} completed: 2 done, 1 failed, 0 skipped, 0 remaining of 3 (100%)"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_operator_rolls_out_and_waits_in_a_terminal(on_version_1):
    publish_version_2()
    worker = start_worker()
    try:
        finished = subprocess.run(
            [sys.executable, "manage.py", "blueprint", "rollout", "--wait"],
            cwd=settings.BASE_DIR,
            env={
                **__import__("os").environ,
                "DATABASE_URL": database_url(),
                "DJANGO_SETTINGS_MODULE": "aether.test_settings",
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        stop(worker)

    assert finished.returncode == 0, finished.stderr
    lines = finished.stdout.splitlines()
    assert lines[0].startswith("started roll-out ") and lines[0].endswith(
        ": version 2 to 3 users on version 1"
    )
    assert lines[-1].endswith("completed: 3 done, 0 failed, 0 skipped, 0 remaining of 3 (100%)")
