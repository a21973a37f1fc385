"""The record of onboarding: each run with its steps, the user's onboarding state, and the news of both.

A run is recorded as running before its work begins, committed on its own, so that even a process
killed mid-run leaves a trace. A run that completes, or finds nothing to do, is finished inside its own
transaction: the record commits with the resources, or not at all. A run that fails is recorded
afterwards, in a short transaction of its own, so the failing step and its error are kept although
everything the run made was rolled back. Either way the outcome is logged, and
``onboarding_completed`` or ``onboarding_failed`` sent, only once it is committed.

Runs for one user take turns: whoever writes a user's onboarding (its resources, its state) first locks
the user's row, ``lock_onboarding_of``.

A run left ``running`` by a process that died (SIGKILL, out of memory) is closed as failed by the next
run of that user to end, with ``ABANDONED_RUN_ERROR``, once it is known dead:

* on PostgreSQL, at once: every run holds a transaction-level advisory lock keyed on its id
  (``RUN_ALIVE_LOCK``), taken in ``take_turn`` before it waits for its user's turn and held for its
  whole transaction. The database lets go of it when the transaction ends, or the connection drops
  with its process, so a ``running`` run whose lock is free has no process on it any more. A run
  waiting for its turn in another process holds its lock, and stays ``running``;
* anywhere (and as a fallback), once it is older than ``ONBOARDING_TIMEOUT_SECONDS``: no live run
  lasts longer.

A live run is without its lock for two short moments: between its committed "running" row and its
transaction's first statement, and between a rollback and the commit of its failure. A run closed
then is not wrongly closed for long: its own outcome, written right after, replaces the closing.
Being transaction-level, the lock works through a pooler in transaction mode (PgBouncer).
"""

import functools
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Expression,
    F,
    Field,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import Exact
from django.utils import timezone

from accounts.models import User
from aether.compiled_query import CompiledQuery
from aether.database_outage import is_database_outage
from aether.errors import ConflictError
from aether.request_id import current_request_id
from onboarding import steps
from onboarding.deadline import Deadline, OnboardingTimeout, is_timeout
from onboarding.metrics import observe_run
from onboarding.models import Blueprint, OnboardingRun, OnboardingStatus, OnboardingStep, UserOnboarding
from onboarding.signals import onboarding_completed, onboarding_failed

logger = logging.getLogger("aether.onboarding")

ABANDONED_RUN_ERROR = "The process running it stopped before it finished."

# The first key of the two-key advisory locks that say a run's process is alive; the second is
# ``hashtext`` of the run's id. The two-key form is a key space of its own, apart from one-key locks
# such as the blueprint's publication lock. Two live runs sharing a hash only delay a closing (or
# make one wait for the other's turn, which it waits for anyway).
RUN_ALIVE_LOCK = 0x0B0A2D


class OnboardingError(ConflictError):
    """A run could not finish; the message is what staff and the user see.

    Recorded on the run, never raised by ``onboard_user``: the run is the answer."""


@dataclass(frozen=True)
class Turn:
    """What a run learns as it takes its user's lock: the version to give, and whether other runs of
    the user are recorded as running."""

    blueprint_id: int | None
    blueprint_version: int | None
    # Runs of this user still recorded as running: concurrent ones waiting behind this one, or killed.
    others_running: bool


def lock_onboarding_of(user_id: object) -> bool:
    """Hold the user's row until the end of the transaction, so that runs for one user take turns.

    ``FOR NO KEY UPDATE``: the rows a run inserts refer to the user (their foreign keys take a key-share
    lock), and so may anybody else's work meanwhile; only another run, or a change to the user's own
    row, waits. The wait is bounded by the run's deadline. Answers whether the user (still) exists.
    """
    return User.objects.select_for_update(no_key=True).filter(pk=user_id).exists()


def take_turn(run: OnboardingRun) -> Turn | None:
    """``lock_onboarding_of`` for a run, reading on the way the current blueprint version and whether
    other runs of the user are recorded as running; ``None`` when the user no longer exists.

    One statement: the lock is the first thing a run does in its transaction, and what it reads here
    would otherwise cost a statement each. On PostgreSQL it takes the run's liveness lock on the way.
    The blueprint is the one current when the run asked for its turn: a version published while it
    waited reaches the next run.
    """
    found = _TURN.first(user_id=run.user_id, run_id=str(run.pk))
    if found is None:
        return None
    # The run itself was recorded as running before its transaction: any other one is someone else's.
    return Turn(found["blueprint_id"], found["blueprint_version"], others_running=found["running"] > 1)


def _turn(*, user_id: object, run_id: str) -> QuerySet[User]:
    users = _turn_query().filter(pk=user_id)
    if connection.vendor == "postgresql":
        # Evaluated as the user's row is read, before the wait for its lock: a run waiting for its
        # turn is already known alive.
        # The function returns void, which reads as "" in text.
        alive = _alive_lock("pg_advisory_xact_lock", Value(run_id), TextField())
        users = users.filter(Exact(Cast(alive, TextField()), ""))
    return users


# Compiled once: compiling its subqueries cost a run several times what running them does.
_TURN = CompiledQuery(_turn, user_id=uuid.uuid4(), run_id=str(uuid.uuid4()))


@functools.cache
def _turn_query() -> QuerySet[User]:
    """What ``take_turn`` locks and reads, for any user: built once, then filtered per run.

    Assembling the subqueries cost a run more than running them did.
    """
    current = Blueprint.objects.order_by("-version")
    running = (
        OnboardingRun.objects.filter(user=OuterRef("pk"), status=OnboardingRun.Status.RUNNING)
        .order_by()
        .values("user")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        User.objects.select_for_update(no_key=True, of=("self",))
        .order_by()
        .annotate(
            blueprint_id=Subquery(current.values("pk")[:1]),
            blueprint_version=Subquery(current.values("version")[:1]),
            running=Coalesce(Subquery(running), 0),
        )
        .values("blueprint_id", "blueprint_version", "running")
    )


def take_turns(runs: Sequence[OnboardingRun]) -> dict[object, Turn]:
    """``take_turn`` for the runs of many users at once (one run each): their turns, by user id.

    The users' rows are locked in one statement, in the order of their primary keys, so two processes
    locking overlapping sets wait for each other instead of deadlocking. On PostgreSQL the runs'
    liveness locks are taken first, in one statement more: the runs are known alive while they wait.
    A user who no longer exists has no turn.
    """
    if connection.vendor == "postgresql":
        alive = _alive_lock("pg_advisory_xact_lock", Cast("id", TextField()), TextField())
        runs_alive = OnboardingRun.objects.filter(pk__in=[run.pk for run in runs]).annotate(alive=alive)
        list(runs_alive.values_list("alive"))
    found = (
        _turn_query()
        .filter(pk__in=[run.user_id for run in runs])
        .order_by("pk")
        .values("pk", "blueprint_id", "blueprint_version", "running")
    )
    # Each run was recorded as running before its transaction: any other one is someone else's.
    return {
        row["pk"]: Turn(row["blueprint_id"], row["blueprint_version"], others_running=row["running"] > 1)
        for row in found
    }


@dataclass
class StepRecord:
    name: str
    status: str = OnboardingStep.Status.NOT_RUN
    duration_ms: int | None = None
    created_count: int = 0
    error: str = ""

    @contextmanager
    def timing(self) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.duration_ms = int((time.monotonic() - started) * 1000)


class RunRecord:
    """A run being recorded: the unsaved ``OnboardingRun`` and what each step did."""

    def __init__(self, *, user: User, trigger: str, actor: User | None, forced: bool) -> None:
        self.run = OnboardingRun(
            user=user,
            trigger=trigger,
            actor=actor,
            forced=forced,
            started_at=timezone.now(),
            request_id=current_request_id() or "",
        )
        self.steps = [StepRecord(step.name) for step in steps.STEPS]
        # Whether to close the user's runs still marked "running" but older than the timeout: no
        # process is on them any more (no run outlasts the timeout), so each one was killed.
        self.close_abandoned = False

    def step(self, name: str) -> StepRecord:
        return next(step for step in self.steps if step.name == name)

    def save_started(self) -> None:
        """Record the run as running, committed before its work begins.

        A process killed mid-run (SIGKILL, out of memory) takes its transaction with it; this row is
        what stays to say an attempt was made. The next run for the user closes it as failed once it is
        known dead (see the module's docstring), and the user sees it among their runs.
        """
        try:
            self.run.save(force_insert=True)
        except IntegrityError as exc:
            # The only reference a new run makes is to its user: deleted while signing in, say.
            raise OnboardingError("The user no longer exists.") from exc

    def save_completed(self, workspace: steps.Workspace, deadline: Deadline) -> None:
        """Inside the run's transaction: the user's state, the run and its steps."""
        save_states([self.completed_state(workspace, timezone.now())])
        self.mark_completed()
        self._save(deadline)

    def completed_state(self, workspace: steps.Workspace, now: datetime) -> UserOnboarding:
        """The user's onboarding state once this run completes, unsaved (``save_states`` writes it)."""
        return UserOnboarding(
            user_id=self.run.user_id,
            status=OnboardingStatus.COMPLETED,
            attempts=workspace.attempts + 1,
            blueprint_version=workspace.blueprint.version,
            space_id=workspace.space_id,
            notebook_id=workspace.notebook_id,
            agent_id=workspace.agent_id,
            completed_at=workspace.completed_at or now,
            last_error="",
            received=workspace.received,
        )

    def mark_completed(self) -> None:
        self.run.status = OnboardingRun.Status.COMPLETED
        self.run.created = {step.name: step.created_count for step in self.steps}

    def step_rows(self) -> list[OnboardingStep]:
        """The run's steps as rows to insert (a skipped run has none)."""
        if self.run.status == OnboardingRun.Status.SKIPPED:
            return []
        return [
            OnboardingStep(
                run=self.run,
                name=step.name,
                position=position,
                status=step.status,
                duration_ms=step.duration_ms,
                created_count=step.created_count if step.status == OnboardingStep.Status.SUCCEEDED else 0,
                error=step.error,
            )
            for position, step in enumerate(self.steps, start=1)
        ]

    def restart(self) -> None:
        """Forget what an attempt that rolled back found and did, to run again with the same record."""
        self.run.status = OnboardingRun.Status.RUNNING
        self.run.blueprint_version = None
        self.steps = [StepRecord(step.name) for step in steps.STEPS]
        self.close_abandoned = False

    def save_skipped(self, deadline: Deadline) -> None:
        """Inside the run's transaction: a run that found the onboarding completed and did nothing."""
        self.run.status = OnboardingRun.Status.SKIPPED
        self._save(deadline)

    def save_failure(self, exc: BaseException, deadline: Deadline) -> None:
        """After the run's transaction rolled back: the run, its steps, and the user's state as failed.

        A short transaction of its own, bounded by the timeout too, so a failure is never written after
        a long wait behind another process's run (that run writes the state itself when it ends). When
        even the run cannot be written (the database is gone), the failure is logged and the run stays
        unsaved.
        """
        failed = next((step for step in self.steps if step.status == OnboardingStep.Status.FAILED), None)
        run = self.run
        run.status = OnboardingRun.Status.FAILED
        run.failed_step = failed.name if failed else ""
        run.error = failed.error if failed else describe(exc, deadline)
        run.timed_out = is_timeout(exc)
        for step in self.steps:
            if step.status == OnboardingStep.Status.SUCCEEDED:
                step.status = OnboardingStep.Status.ROLLED_BACK
        error = (f"{run.failed_step}: {run.error}" if run.failed_step else run.error)[:2000]
        try:
            with transaction.atomic(), Deadline(deadline.seconds).bounding():
                self._save(deadline)
                _mark_failed(run.user_id, error)
        except Exception as unrecorded:
            # Nothing is announced either: the hook went with the rolled-back block.
            fields = {"user_id": str(run.user_id), "status": run.status, "error": run.error}
            if is_database_outage(unrecorded):
                # The database went away (the run's own error says how): a traceback would say no more,
                # and every sign-in during an outage would write one.
                logger.warning(
                    "onboarding run could not be recorded: the database cannot be reached", extra=fields
                )
            else:
                logger.exception("onboarding run could not be recorded", extra=fields)

    def _save(self, deadline: Deadline) -> None:
        """Insert the run and its steps, close runs a killed process left open, announce after commit."""
        run = self.run
        run.finished_at = timezone.now()
        run.duration_ms = deadline.elapsed_ms()
        # Updates the row save_started wrote; inserts it when even that could not be written.
        run.save()
        step_rows = self.step_rows()
        if step_rows:
            OnboardingStep.objects.bulk_create(step_rows)
        if self.close_abandoned:
            close_abandoned_runs([run.user_id], finished_at=run.finished_at, deadline=deadline)
        transaction.on_commit(self.publish, robust=True)

    def publish(self) -> None:
        """Log, signal and count the run: once it is committed."""
        announce(self.run)
        observe_run(self.run, self.steps)


# What a completed run sets on the user's onboarding state when the state's row exists already.
STATE_UPDATE_FIELDS = (
    "status",
    "attempts",
    "blueprint_version",
    "space",
    "notebook",
    "agent",
    "completed_at",
    "last_error",
    "received",
    "updated_at",
)


def save_states(states: list[UserOnboarding]) -> None:
    """Write users' onboarding states in one statement, whether or not their rows exist.

    Only under the users' locks, which make the values current.
    """
    UserOnboarding.objects.bulk_create(
        states, update_conflicts=True, unique_fields=["user"], update_fields=STATE_UPDATE_FIELDS
    )


def close_abandoned_runs(user_ids: list[object], *, finished_at: datetime, deadline: Deadline) -> None:
    """Close the users' runs still recorded as running whose process is known dead, as failed."""
    OnboardingRun.objects.filter(
        _known_dead(older_than=finished_at - timedelta(seconds=deadline.seconds)),
        user_id__in=user_ids,
        status=OnboardingRun.Status.RUNNING,
    ).update(status=OnboardingRun.Status.FAILED, error=ABANDONED_RUN_ERROR, finished_at=finished_at)


def _alive_lock(function: str, run_id: Expression, output_field: Field) -> Func:
    """``function`` (an advisory lock function) over the liveness lock of the run ``run_id``."""
    return Func(
        Value(RUN_ALIVE_LOCK), Func(run_id, function="hashtext"), function=function, output_field=output_field
    )


def _known_dead(*, older_than) -> Q:
    """Which runs still recorded as running have no process any more: older than the timeout, or,
    on PostgreSQL, with their liveness lock free.

    The lock is tried inside the closing ``UPDATE``, which re-reads a row another transaction changed
    meanwhile: a run that committed its outcome (and then let go of its lock) is no longer "running"
    there, and stays as it ended. A lock this takes is held to the end of the closing transaction.
    """
    old = Q(started_at__lt=older_than)
    if connection.vendor != "postgresql":
        return old
    return old | Q(_alive_lock("pg_try_advisory_xact_lock", Cast("id", TextField()), BooleanField()))


def _mark_failed(user_id: object, error: str) -> None:
    """Mark the user's onboarding failed, creating its state if no run got that far.

    A failed forced run leaves a completed onboarding completed; it still counts as an attempt. Another
    run for this user may hold the lock: that run writes the state itself when it ends, and the bounded
    wait here ends in an error that is logged, while the failed run is still recorded.
    """
    completed = Q(status=OnboardingStatus.COMPLETED)
    try:
        with transaction.atomic():
            if not lock_onboarding_of(user_id):
                return  # the user is gone, and their onboarding with them
            UserOnboarding.objects.bulk_create([UserOnboarding(user_id=user_id)], ignore_conflicts=True)
            UserOnboarding.objects.filter(pk=user_id).update(
                attempts=F("attempts") + 1,
                status=Case(
                    When(completed, then=F("status")),
                    default=Value(OnboardingStatus.FAILED, output_field=CharField()),
                ),
                last_error=Case(
                    When(completed, then=F("last_error")), default=Value(error, output_field=TextField())
                ),
                updated_at=timezone.now(),
            )
    except DatabaseError:
        logger.exception("onboarding state could not be marked failed", extra={"user_id": str(user_id)})


def describe(exc: BaseException, deadline: Deadline) -> str:
    """A one-line account of why a run failed, naming a timeout as such."""
    if isinstance(exc, OnboardingError | OnboardingTimeout):
        return str(exc)
    if is_timeout(exc):
        return deadline.message
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def announce(run: OnboardingRun) -> None:
    """Log and signal a run's outcome once it is durable; a receiver that raises is logged, not raised."""
    fields = {
        "user_id": str(run.user_id),
        "run_id": str(run.pk),
        "trigger": run.trigger,
        "status": run.status,
        "duration_ms": run.duration_ms,
        "blueprint_version": run.blueprint_version,
        "resources_created": run.created,
    }
    if run.status == OnboardingRun.Status.COMPLETED:
        logger.info("onboarding completed", extra=fields)
        responses = onboarding_completed.send_robust(sender=OnboardingRun, user=run.user, run=run)
    elif run.status == OnboardingRun.Status.FAILED:
        logger.warning(
            "onboarding failed", extra={**fields, "failed_step": run.failed_step, "error": run.error}
        )
        responses = onboarding_failed.send_robust(sender=OnboardingRun, user=run.user, run=run)
    else:
        logger.info("onboarding skipped: already completed", extra=fields)
        responses = []
    for receiver, response in responses:
        if isinstance(response, Exception):
            logger.error(
                "an onboarding signal receiver failed",
                exc_info=response,
                extra={**fields, "receiver": getattr(receiver, "__qualname__", repr(receiver))},
            )
