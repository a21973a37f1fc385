"""Roll-outs run by real workers (``manage.py db_worker`` processes) on the test database."""

import signal
import time

import psycopg
import pytest
from django.test import override_settings

from notebooks.models import Document
from onboarding.models import OnboardingRun, UserOnboarding
from onboarding.rollouts import rollout_progress, rollout_start
from onboarding.selectors import blueprint_current
from onboarding.services import onboard_after_sign_in, onboard_user
from onboarding.tests.rollout_fixtures import NEW_WELCOME, RELEASE_NOTES, publish_version_2
from onboarding.tests.workers import LEASE_SECONDS, database_url, start_worker, stop
from onboarding.upgrades import rollout_preview

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def wait_until(condition, *, timeout: float = 60, what: str = "the roll-out") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not get there within {timeout} s")
        time.sleep(0.1)


def documents_of(user) -> dict[str, tuple[str, str]]:
    return {
        d.onboarding_key: (d.name, d.content)
        for d in Document.objects.filter(notebook__owner=user, onboarding_key__isnull=False)
    }


def test_the_contract_scenario_with_a_worker(on_version_1, make_user):
    publish_version_2()
    preview = rollout_preview(blueprint_current())
    counts = {name: (c["users"], c["documents"]) for name, c in preview.as_dict()["changes"].items()}
    assert counts == {
        "documents_added": (3, 3),
        "texts_updated": (3, 3),
        "names_updated": (0, 0),
        "kept_renamed": (1, 1),
        "kept_edited": (0, 0),
        "kept_deleted": (1, 1),
        "no_notebook": (0, 0),
    }
    rollout = rollout_start(actor=None)
    # A first sign-in while the roll-out waits for its worker: version 2 directly.
    newcomer = make_user(email="newcomer@example.com")
    onboard_after_sign_in(user=newcomer, via="browser")

    worker = start_worker()
    try:
        wait_until(lambda: rollout_progress(rollout).rollout.status == "completed")
    finally:
        stop(worker)

    users = on_version_1
    for user in (users.untouched, users.deleted, users.renamed, newcomer):
        assert Document.objects.filter(notebook__owner=user, onboarding_key="release-notes").count() == 1
        assert documents_of(user)["release-notes"] == ("Release notes.txt", RELEASE_NOTES)
        assert UserOnboarding.objects.get(user=user).blueprint_version == 2
    assert "faq" not in documents_of(users.deleted)
    assert documents_of(users.renamed)["welcome"] == ("My welcome.txt", NEW_WELCOME)
    assert documents_of(users.untouched)["welcome"] == ("Welcome to Aether.txt", NEW_WELCOME)
    assert documents_of(newcomer)["welcome"] == ("Welcome to Aether.txt", NEW_WELCOME)
    progress = rollout_progress(rollout)
    assert (progress.done, progress.failed, progress.skipped, progress.remaining) == (3, 0, 0, 0)
    assert OnboardingRun.objects.filter(trigger="rollout", status="completed").count() == 3


def test_a_worker_killed_mid_batch_is_replaced_and_every_user_is_done_once(make_user):
    users = [make_user() for _ in range(30)]
    for user in users:
        onboard_user(user=user, trigger="login")
    publish_version_2()
    rollout = rollout_start(actor=None, batch_size=10)
    # Another transaction holds the 16th user's row (the lock onboarding takes): the worker, in the
    # middle of its second batch, waits there, having done the five before.
    stalled = sorted(users, key=lambda user: user.pk)[15]
    holder = psycopg.connect(database_url().replace("postgres://", "postgresql://"))
    holder.execute("SELECT 1 FROM accounts_user WHERE id = %s FOR UPDATE", [stalled.pk])

    worker = start_worker()
    try:
        wait_until(lambda: rollout_progress(rollout, revive=False).done == 15, what="the 15th user")
        time.sleep(0.5)
        assert rollout_progress(rollout, revive=False).done == 15  # waiting on the held user
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        stop(worker)
        holder.rollback()
        holder.close()

    replacement = start_worker()
    try:
        with override_settings(ROLLOUT_LEASE_SECONDS=LEASE_SECONDS):
            # The first look after the lease ran out hands the roll-out to the replacement worker.
            wait_until(lambda: rollout_progress(rollout).rollout.status == "completed")
    finally:
        stop(replacement)

    progress = rollout_progress(rollout)
    assert (progress.done, progress.failed, progress.skipped, progress.remaining) == (30, 0, 0, 0)
    runs = OnboardingRun.objects.filter(trigger="rollout")
    assert sorted(runs.values_list("user_id", flat=True)) == sorted(user.pk for user in users)
    assert set(runs.values_list("status", flat=True)) == {"completed"}
    assert Document.objects.filter(onboarding_key="release-notes").count() == 30
    assert set(UserOnboarding.objects.values_list("blueprint_version", flat=True)) == {2}
