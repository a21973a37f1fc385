"""Roll-outs, their batches run in this process by the task code itself, as a worker runs them."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notebooks.models import Document
from onboarding.models import OnboardingRun, Rollout, UserOnboarding
from onboarding.rollouts import (
    NothingToRollOut,
    RolloutRefused,
    rollout_cancel,
    rollout_pause,
    rollout_progress,
    rollout_resume,
    rollout_start,
)
from onboarding.selectors import blueprint_current, onboarding_last_completed_run
from onboarding.services import onboard_user
from onboarding.steps import text_sha256
from onboarding.tests.rollout_fixtures import NEW_WELCOME, RELEASE_NOTES, publish_version_2
from onboarding.upgrades import rollout_preview

pytestmark = pytest.mark.django_db


def documents_of(user) -> dict[str, tuple[str, str]]:
    return {
        d.onboarding_key: (d.name, d.content)
        for d in Document.objects.filter(notebook__owner=user, onboarding_key__isnull=False)
    }


def test_the_preview_counts_each_change_exactly(on_version_1, queue):
    publish_version_2()

    preview = rollout_preview(blueprint_current()).as_dict()

    assert (preview["version"], preview["users"], preview["from_versions"]) == (2, 3, [1])
    changes = preview["changes"]
    assert changes["documents_added"] | {"sample": None} == {
        "label": "documents added",
        "users": 3,
        "documents": 3,
        "sample": None,
    }
    # The renamed welcome guide still has version 1's text: it gets version 2's, under the user's name.
    assert (changes["texts_updated"]["users"], changes["texts_updated"]["documents"]) == (3, 3)
    assert (changes["kept_renamed"]["users"], changes["kept_renamed"]["sample"]) == (
        1,
        ["renamed@example.com"],
    )
    assert (changes["kept_deleted"]["users"], changes["kept_deleted"]["sample"]) == (
        1,
        ["deleted@example.com"],
    )
    assert changes["kept_edited"]["users"] == changes["names_updated"]["users"] == 0
    assert preview["unchanged_users"] == 0


def test_the_preview_reads_the_same_few_queries_for_any_number_of_users(on_version_1, make_user):
    publish_version_2()
    rollout_preview(blueprint_current())  # the version's samples, read once per process
    with CaptureQueriesContext(connection) as three:
        rollout_preview(blueprint_current())
    for _ in range(5):
        onboard_user(user=make_user(), trigger="login")
    UserOnboarding.objects.update(blueprint_version=1)
    with CaptureQueriesContext(connection) as eight:
        preview = rollout_preview(blueprint_current())

    assert preview.users == 8
    assert len(eight) == len(three) <= 3


def test_the_roll_out_brings_everyone_to_version_2_keeping_what_they_changed(on_version_1, queue, make_user):
    publish_version_2()
    rollout = rollout_start(actor=None)
    # Signing in for the first time during the roll-out: version 2 directly, and the roll-out leaves them be.
    newcomer = make_user(email="newcomer@example.com")
    onboard_user(user=newcomer, trigger="login")

    assert queue.work() == 1
    users = on_version_1

    for user in (users.untouched, users.deleted, users.renamed, newcomer):
        held = documents_of(user)
        assert held["release-notes"] == ("Release notes.txt", RELEASE_NOTES)
        assert Document.objects.filter(notebook__owner=user, onboarding_key="release-notes").count() == 1
        assert UserOnboarding.objects.get(user=user).blueprint_version == 2
    assert documents_of(users.untouched)["welcome"] == ("Welcome to Aether.txt", NEW_WELCOME)
    assert "faq" not in documents_of(users.deleted)  # deleted, and stays deleted
    assert documents_of(users.renamed)["welcome"] == ("My welcome.txt", NEW_WELCOME)
    runs = OnboardingRun.objects.filter(trigger="rollout")
    assert sorted(runs.values_list("user__email", "status", "blueprint_version")) == [
        ("deleted@example.com", "completed", 2),
        ("renamed@example.com", "completed", 2),
        ("untouched@example.com", "completed", 2),
    ]
    assert not OnboardingRun.objects.filter(user=newcomer, trigger="rollout").exists()
    progress = rollout_progress(rollout)
    assert (
        progress.rollout.status,
        progress.done,
        progress.failed,
        progress.skipped,
        progress.remaining,
    ) == ("completed", 3, 0, 0, 0)
    assert progress.rollout.finished_at is not None
    # What they received now says version 2, with the name the renamed user's copy was given.
    received = UserOnboarding.objects.get(user=users.renamed).received
    assert received["welcome"] == {
        "version": 2,
        "name": "Welcome to Aether.txt",
        "sha256": text_sha256(NEW_WELCOME),
    }
    assert received["faq"]["version"] == 1
    # The dashboard still says how long the sign-in's onboarding took, not the roll-out's change.
    assert onboarding_last_completed_run(users.untouched).trigger == "login"


def test_a_text_the_user_edited_is_kept(on_version_1, queue):
    user = on_version_1.untouched
    Document.objects.filter(notebook__owner=user, onboarding_key="welcome").update(content="my own words")
    publish_version_2()

    assert rollout_preview(blueprint_current()).as_dict()["changes"]["kept_edited"]["users"] == 1
    rollout_start(actor=None)
    queue.work()

    assert documents_of(user)["welcome"] == ("Welcome to Aether.txt", "my own words")
    assert "release-notes" in documents_of(user)


def test_a_second_roll_out_changes_nothing_and_a_second_start_is_refused(on_version_1, queue):
    publish_version_2()
    first = rollout_start(actor=None)

    with pytest.raises(
        RolloutRefused, match=rf"Roll-out {first.pk} \(version 2\) is running: only one roll-out"
    ):
        rollout_start(actor=None)
    queue.work()
    with pytest.raises(NothingToRollOut, match="Every onboarded user has version 2 already"):
        rollout_start(actor=None)
    assert Rollout.objects.count() == 1


def test_the_database_refuses_two_unfinished_roll_outs(on_version_1, queue):
    publish_version_2()
    first = rollout_start(actor=None)
    rollout_pause(rollout=first)
    duplicate = Rollout(blueprint=first.blueprint, to_version=2, started_at=timezone.now())

    with pytest.raises(IntegrityError, match="onboarding_rollout_one_at_a_time"), transaction.atomic():
        duplicate.save()


def test_pause_resume_and_cancel(on_version_1, queue, make_user):
    for _ in range(3):
        onboard_user(user=make_user(), trigger="login")
    publish_version_2()
    rollout = rollout_start(actor=None, batch_size=2)

    rollout_pause(rollout=rollout)
    assert queue.work() == 1  # the batch queued at the start finds it paused and does nothing
    assert rollout_progress(rollout).remaining == 6
    with pytest.raises(RolloutRefused, match="is paused; only a running roll-out can be paused"):
        rollout_pause(rollout=rollout)

    rollout_resume(rollout=rollout)
    assert queue.work(limit=1) == 1
    progress = rollout_progress(rollout)
    assert (progress.rollout.status, progress.done, progress.remaining) == ("running", 2, 4)

    rollout_cancel(rollout=rollout)
    assert queue.work() == 1  # the next batch, queued before the cancel, stops at once
    progress = rollout_progress(rollout)
    assert (progress.rollout.status, progress.done, progress.remaining) == ("cancelled", 2, 4)
    assert progress.rollout.finished_at is not None
    with pytest.raises(RolloutRefused, match="is cancelled; only a paused roll-out can be resumed"):
        rollout_resume(rollout=rollout)
    # Cancelled, it no longer holds the place: a new one reaches the four left.
    assert rollout_start(actor=None).total == 4


def test_a_user_brought_to_version_2_meanwhile_is_skipped(on_version_1, queue):
    publish_version_2()
    rollout = rollout_start(actor=None)
    onboard_user(user=on_version_1.deleted, trigger="admin", force=True)  # a re-run gives version 2

    queue.work()

    progress = rollout_progress(rollout)
    assert (progress.done, progress.skipped) == (2, 1)
    assert "faq" in documents_of(on_version_1.deleted)  # a forced re-run does bring samples back


def test_a_stale_roll_out_is_picked_up_again_and_no_user_is_done_twice(on_version_1, queue):
    publish_version_2()
    rollout = rollout_start(actor=None)
    killed = queue.waiting[0]
    queue.backend.results.clear()  # the worker took the task, then was killed before it began

    assert rollout_progress(rollout).remaining == 3  # fresh heartbeat: nobody picks it up yet
    assert not queue.waiting
    Rollout.objects.filter(pk=rollout.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=31))
    with override_settings(ROLLOUT_LEASE_SECONDS=30):
        rollout_progress(rollout)

    assert len(queue.waiting) == 1
    queue.backend.results.insert(0, killed)  # the first task, had it run late, stops: its ticket is old
    assert queue.work() == 2
    assert OnboardingRun.objects.filter(trigger="rollout").count() == 3
    assert rollout_progress(rollout).done == 3


def test_a_failing_user_is_recorded_and_the_others_go_on(on_version_1, queue, fail_rollout_writes_for):
    fail_rollout_writes_for(on_version_1.renamed)
    publish_version_2()
    rollout = rollout_start(actor=None)
    queue.work()

    progress = rollout_progress(rollout)
    assert (progress.rollout.status, progress.done, progress.failed) == ("completed", 2, 1)
    failed = OnboardingRun.objects.get(trigger="rollout", status="failed")
    assert (failed.user, failed.error) == (on_version_1.renamed, "RuntimeError: disk full")
    assert UserOnboarding.objects.get(user=on_version_1.renamed).blueprint_version == 1  # rolled back


@pytest.mark.postgres
def test_each_user_costs_one_statement(make_user, queue):
    for _ in range(20):
        onboard_user(user=make_user(), trigger="login")
    publish_version_2()
    rollout_start(actor=None, batch_size=20)

    with CaptureQueriesContext(connection) as queries:
        queue.work(limit=1)

    # In production each user's statement is a transaction of its own; inside this test's, a savepoint.
    statements = [q["sql"].split()[0] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    # Fixed per batch: the roll-out, the claim, the entries, their states, their documents, and the
    # hand-over (a check for more, then the next task or the end). Each user: one statement that takes
    # the lock, checks what was read and writes the new document, the new text, the state, the run and
    # the outcome.
    assert statements.count("WITH") == 20
    assert len(statements) - 20 <= 9
    assert UserOnboarding.objects.filter(blueprint_version=2).count() == 20
    assert OnboardingRun.objects.filter(trigger="rollout", status="completed").count() == 20
    assert Document.objects.filter(onboarding_key="release-notes").count() == 20
    assert Document.objects.filter(onboarding_key="welcome", content=NEW_WELCOME).count() == 20
