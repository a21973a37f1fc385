"""Onboarding many users at once: ``onboard_user``'s guarantees, a chunk of users per transaction.

``onboard_users`` is what ``manage.py onboard_user`` calls. One user at a time, onboarding costs about a
dozen round trips to the database, and most of a run's time is spent waiting on them; here the same
work is done for a chunk of users with about as many statements as for one:

* **Recorded first.** The chunk's runs are inserted as running, in one statement committed before
  the work begins, so a process killed mid-chunk leaves a trace of each attempt. The chunk's
  transaction holds each run's liveness lock, as a single run does: once the process is gone, the
  user's next run closes the attempt as failed at once (``onboarding.recording``).
* **Serialised.** The chunk's transaction first locks its users' rows, in the order of their primary
  keys (``onboarding.recording.take_turns``): a sign-in of one of them waits until the chunk is
  committed and then finds the user onboarded; two commands over the same users take turns.
* **The same steps.** Each step of ``onboarding.steps.STEPS`` decides, for each user in turn, what is
  missing; the rows of all users are then inserted together, one statement per model.
* **Atomic per user, recorded per user.** Every user's state, run and steps are written in the
  chunk's transaction. When anything in a chunk fails, the chunk rolls back and each of its users is
  onboarded again in a transaction of their own, so the failing user is named and recorded with the
  failing step, and the others complete.
* **Bounded.** ``ONBOARDING_TIMEOUT_SECONDS`` bounds the chunk's transaction as it bounds a run: a
  chunk that outlasts it rolls back, and its users are then onboarded one by one, each bounded alike.
* **Announced after commit.** Each run is logged, signalled and counted once its chunk is committed.

The runs of a chunk are done together, so each records its share of the chunk's time: the chunk's
duration divided among its users, and each step's likewise.
"""

import logging
import time
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from onboarding import steps
from onboarding.deadline import Deadline
from onboarding.models import OnboardingRun, OnboardingStatus, OnboardingStep
from onboarding.recording import (
    OnboardingError,
    RunRecord,
    close_abandoned_runs,
    describe,
    save_states,
    take_turns,
)
from onboarding.selectors import blueprint_version_of, onboarding_workspaces

logger = logging.getLogger("aether.onboarding")

# Users onboarded in one transaction. A sign-in of one of them waits for the chunk's commit, a
# fraction of a second at this size; beyond it the statements saved per user are few.
CHUNK_SIZE = 200

# What the end of a chunk's transaction writes on each run it recorded as running.
RUN_FINISH_FIELDS = ("status", "blueprint_version", "finished_at", "duration_ms", "created")


def onboard_users(
    *, users: Sequence[User], trigger: str, force: bool = False, chunk_size: int = CHUNK_SIZE
) -> list[OnboardingRun]:
    """Onboard ``users`` now, ``chunk_size`` of them per transaction; answer their runs, in order.

    What ``onboard_user`` does for each user (``force`` included), with the same guarantees. Nothing
    but ``KeyboardInterrupt`` and ``SystemExit`` escapes: a failure is recorded on the user's run and
    state. Interrupted, the chunk under way rolls back and its runs are recorded as failed; the chunks
    before it stay committed.
    """
    runs: list[OnboardingRun] = []
    for start in range(0, len(users), chunk_size):
        records = [
            RunRecord(user=user, trigger=trigger, actor=None, forced=force)
            for user in users[start : start + chunk_size]
        ]
        _onboard_chunk(records, force=force)
        runs += [record.run for record in records]
    return runs


def _onboard_chunk(records: list[RunRecord], *, force: bool) -> None:
    """One transaction for ``records``' users; when it fails with more than one user, one for each."""
    deadline = Deadline(settings.ONBOARDING_TIMEOUT_SECONDS)
    try:
        _save_started(records)
        with transaction.atomic(), deadline.bounding():
            gone = _run_chunk(records, deadline, force=force)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, on its user
        if len(records) == 1:
            records[0].save_failure(exc, deadline)
            return
        # Information only: the failure that matters is logged as the failing user's run ends.
        logger.info(
            "onboarding a chunk of users failed; onboarding them one by one",
            extra={"users": len(records), "error": describe(exc, deadline)},
        )
        for record in records:
            record.restart()
            _onboard_chunk([record], force=force)
        return
    except BaseException as exc:
        # Interrupted: the transaction rolled back; record each run as failed, then let it go on.
        for record in records:
            record.save_failure(exc, deadline)
        raise
    for record in gone:
        record.save_failure(OnboardingError("The user no longer exists."), deadline)


def _save_started(records: list[RunRecord]) -> None:
    """Record the runs not yet recorded as running, committed before the chunk's work begins."""
    unsaved = [record for record in records if record.run._state.adding]
    if len(unsaved) == 1:
        unsaved[0].save_started()  # names a user deleted meanwhile
    elif unsaved:
        OnboardingRun.objects.bulk_create([record.run for record in unsaved])


def _run_chunk(records: list[RunRecord], deadline: Deadline, *, force: bool) -> list[RunRecord]:
    """Inside the chunk's transaction: lock, look, add what is missing, record. Answer the records of
    users who no longer exist (nothing was done for them)."""
    turns = take_turns([record.run for record in records])
    present = [record for record in records if record.run.user_id in turns]
    gone = [record for record in records if record.run.user_id not in turns]
    if not present:
        return gone
    turn = turns[present[0].run.user_id]
    if turn.blueprint_id is None:
        raise OnboardingError("No onboarding blueprint is configured.")
    blueprint = blueprint_version_of(turn.blueprint_id, turn.blueprint_version)
    workspaces = onboarding_workspaces([record.run.user for record in present], blueprint)
    to_run: list[tuple[RunRecord, steps.Workspace]] = []
    for record in present:
        record.run.blueprint_version = blueprint.version
        record.close_abandoned = turns[record.run.user_id].others_running
        workspace = workspaces[record.run.user_id]
        if workspace.status == OnboardingStatus.COMPLETED and not force:
            record.run.status = OnboardingRun.Status.SKIPPED
        else:
            to_run.append((record, workspace))
    for step in steps.STEPS:
        _run_step(step, to_run, deadline)
    _save_chunk(present, to_run, deadline)
    return gone


def _run_step(step: steps.Step, to_run: list[tuple[RunRecord, steps.Workspace]], deadline: Deadline) -> None:
    """One step for every user of the chunk: each user's rows decided in turn, then inserted together.

    A failure fails the step for every user of the chunk: the chunk rolls back, and when it held more
    than one user each is onboarded again alone, where the failure is that user's.
    """
    records = [record.step(step.name) for record, _workspace in to_run]
    started = time.monotonic()
    try:
        deadline.check()
        deadline.rebound()
        rows: list = []
        for (_record, workspace), record in zip(to_run, records, strict=True):
            record.created_count = step.run(workspace, insert=rows.extend)
        steps.insert_rows(rows)
        deadline.check()
    except BaseException as exc:
        error = describe(exc, deadline)
        for record in records:
            record.status, record.error = OnboardingStep.Status.FAILED, error
        raise
    share = int((time.monotonic() - started) * 1000 / max(1, len(records)))
    for record in records:
        record.status, record.duration_ms = OnboardingStep.Status.SUCCEEDED, share


def _save_chunk(
    present: list[RunRecord], to_run: list[tuple[RunRecord, steps.Workspace]], deadline: Deadline
) -> None:
    """Inside the chunk's transaction: the users' states, the runs and their steps; announce after
    commit. What ``RunRecord.save_completed`` and ``save_skipped`` write for one run, for all."""
    now = timezone.now()
    save_states([record.completed_state(workspace, now) for record, workspace in to_run])
    for record, _workspace in to_run:
        record.mark_completed()
    share = deadline.elapsed_ms() // len(present)
    for record in present:
        record.run.finished_at, record.run.duration_ms = now, share
    OnboardingRun.objects.bulk_create(
        [record.run for record in present],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=RUN_FINISH_FIELDS,
    )
    OnboardingStep.objects.bulk_create(row for record in present for row in record.step_rows())
    abandoned = [record.run.user_id for record in present if record.close_abandoned]
    if abandoned:
        close_abandoned_runs(abandoned, finished_at=now, deadline=deadline)
    for record in present:
        transaction.on_commit(record.publish, robust=True)
