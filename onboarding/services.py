"""Onboarding: give a user everything the blueprint lists, all at once, exactly once.

``onboard_user`` is the only way onboarding happens: sign-in (browser or bearer), the retry API, the
admin action and the ``onboard_user`` command all call it. What a user receives is defined step by step
in ``onboarding.steps``; how runs are recorded and announced in ``onboarding.recording``; how a run's
time is enforced in ``onboarding.deadline``.

How a run stays correct:

* **Atomic.** The steps, the user's new state and the record of the run are written in one
  ``transaction.atomic``: all of it commits, or none. A run that fails is recorded afterwards in a
  short transaction of its own, with the failing step and its error.
* **Serialised.** The run locks the user's row for its whole transaction, so concurrent runs for one
  user, from any number of processes, run one after the other, and each later one finds what the
  earlier ones made.
* **Idempotent.** Each step adds only what it does not find (by onboarding key, never by name) and
  never edits or deletes anything; unique constraints in the database back this up.
* **Bounded.** ``ONBOARDING_TIMEOUT_SECONDS`` is checked between steps and, on PostgreSQL, enforced on
  every statement and lock wait, so a sign-in never waits long on another run.
* **Recorded, even when killed.** A run is recorded as running before its transaction begins. A
  process killed mid-run leaves nothing else behind (PostgreSQL rolls its transaction back when the
  connection drops); the next run for the user closes the "running" record as failed once it is known
  dead (``onboarding.recording``), so the attempt stays visible to the user and to staff.
"""

import logging

from django.conf import settings
from django.db import transaction

from accounts.models import User
from onboarding import steps
from onboarding.deadline import Deadline
from onboarding.models import OnboardingRun, OnboardingStatus, OnboardingStep
from onboarding.recording import OnboardingError, RunRecord, StepRecord, describe, take_turn
from onboarding.selectors import blueprint_version_of, onboarding_completed, onboarding_workspace

logger = logging.getLogger("aether.onboarding")

SIGN_IN_TRIGGERS = {"browser": OnboardingRun.Trigger.LOGIN, "bearer": OnboardingRun.Trigger.API}


def onboard_user(
    *, user: User, trigger: str, actor: User | None = None, force: bool = False
) -> OnboardingRun:
    """Run the user's onboarding now and return the recorded run.

    Without ``force`` a user whose onboarding already completed is left alone (the run is recorded as
    ``skipped``); with it, whatever is missing is created again. Nothing but ``KeyboardInterrupt`` and
    ``SystemExit`` escapes: a failure is recorded on the run and on the user's state, and the run is
    returned. When even the run's row cannot be written (the database is gone), the failure is logged
    and the run is returned unsaved.
    """
    deadline = Deadline(settings.ONBOARDING_TIMEOUT_SECONDS)
    record = RunRecord(user=user, trigger=trigger, actor=actor, forced=force)
    try:
        record.save_started()
        with transaction.atomic(), deadline.bounding():
            _run(record, deadline, force=force)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, none escapes to the login
        record.save_failure(exc, deadline)
    except BaseException as exc:
        # Interrupted (Ctrl-C in the command, a worker shutting down): the transaction rolled back;
        # record the run as failed, then let the interrupt go on.
        record.save_failure(exc, deadline)
        raise
    return record.run


def onboard_after_sign_in(*, user: User, via: str, created: bool = False) -> OnboardingRun | None:
    """Onboard a user who just authenticated, unless their onboarding already completed.

    ``created``: the sign-in created the user, whose onboarding then cannot have completed. Called for
    every successful sign-in; must never fail it, so even an unexpected error (the database going away
    mid-run, say) is logged and swallowed.
    """
    if not created and onboarding_completed(user):
        return None
    # The run changes the state that may have been read along with the user: read it again if asked.
    state_cache = User.onboarding.related
    if state_cache.is_cached(user):
        state_cache.delete_cached_value(user)
    try:
        return onboard_user(user=user, trigger=SIGN_IN_TRIGGERS[via])
    except Exception:
        logger.exception("onboarding could not run at sign-in", extra={"user_id": str(user.pk)})
        return None


def _run(record: RunRecord, deadline: Deadline, *, force: bool) -> None:
    """The run itself, inside its transaction: take the lock, look, add what is missing, record."""
    turn = take_turn(record.run)
    if turn is None:
        raise OnboardingError("The user no longer exists.")
    if turn.blueprint_id is None:
        raise OnboardingError("No onboarding blueprint is configured.")
    blueprint = blueprint_version_of(turn.blueprint_id, turn.blueprint_version)
    record.run.blueprint_version = blueprint.version
    record.close_abandoned = turn.others_running
    workspace = onboarding_workspace(record.run.user, blueprint)
    if workspace.status == OnboardingStatus.COMPLETED and not force:
        record.save_skipped(deadline)
        return
    for step in steps.STEPS:
        _run_step(step, workspace, record.step(step.name), deadline)
    record.save_completed(workspace, deadline)


def _run_step(step: steps.Step, workspace: steps.Workspace, record: StepRecord, deadline: Deadline) -> None:
    """Run one step, recording how long it took and how it ended; a step that ends too late fails."""
    try:
        deadline.check()
        # The step's statements and lock waits may use only what is left of the run's time.
        deadline.rebound()
        with record.timing():
            record.created_count = step.run(workspace)
        deadline.check()
    except BaseException as exc:
        record.status, record.error = OnboardingStep.Status.FAILED, describe(exc, deadline)
        raise
    record.status = OnboardingStep.Status.SUCCEEDED
