"""Onboarding: give a user everything the blueprint lists, all at once, exactly once.

``onboard_user`` is the only way onboarding happens: sign-in (browser or bearer), the retry API, the
admin action and the ``onboard_user`` command all call it.

How a run stays correct:

* **Atomic.** The four steps run in one ``transaction.atomic``; a failure anywhere rolls every
  resource of the run back. The run and its steps are written outside that transaction, so a
  failed run is still recorded with the failing step and its error.
* **Serialised.** The run locks the user's ``UserOnboarding`` row (``SELECT … FOR UPDATE``) for its
  whole transaction, so concurrent runs for one user, from any number of processes, run one after
  the other and the later ones find everything in place.
* **Idempotent.** Resources are recognised by their ``onboarding_key`` (never by name, which the user
  may change); a run only creates what is missing and never edits or deletes anything. Database
  constraints back this up: one personal space, one onboarding notebook and agent per user, one
  document per key in the notebook.
* **Bounded.** ``ONBOARDING_TIMEOUT_SECONDS`` is checked between steps and, on PostgreSQL, enforced on
  every statement and lock wait: each step gets only what is left of the run's time, and the state
  updates outside the run's transaction are bounded too, so a sign-in never waits on another run.
* **Never stuck.** A run whose process was killed stays "running"; the next run for the user, once it
  holds the lock (which proves the other is dead), marks it failed. The dashboard offers a retry for
  a state that has been "running" for longer than the timeout.
"""

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Case, CharField, F, Q, TextField, Value, When
from django.utils import timezone

from accounts.models import Membership, Space, User
from accounts.selectors import personal_space_of
from notebooks.models import Agent, Document, Notebook
from onboarding.models import (
    STEP_NAMES,
    Blueprint,
    OnboardingRun,
    OnboardingStatus,
    OnboardingStep,
    UserOnboarding,
)
from onboarding.selectors import (
    AGENT_KEY,
    NOTEBOOK_KEY,
    blueprint_current,
    onboarding_agent_of,
    onboarding_notebook_of,
    sample_document_keys,
)
from onboarding.signals import onboarding_completed, onboarding_failed

logger = logging.getLogger("aether.onboarding")

SIGN_IN_TRIGGERS = {"browser": OnboardingRun.Trigger.LOGIN, "bearer": OnboardingRun.Trigger.API}


class OnboardingError(Exception):
    """A run could not finish; the message is what staff and the user see."""


class OnboardingTimeout(OnboardingError):
    pass


class _AlreadyCompleted(Exception):
    """Raised inside the transaction when, once the lock is held, there is nothing left to do."""


@dataclass
class _Context:
    """What the steps share within one run."""

    user: User
    blueprint: Blueprint
    state: UserOnboarding
    space: Space | None = None
    notebook: Notebook | None = None
    agent: Agent | None = None


@dataclass
class _StepRecord:
    name: str
    status: str = OnboardingStep.Status.NOT_RUN
    duration_ms: int | None = None
    created_count: int = 0
    error: str = ""


@dataclass
class _RunRecord:
    steps: list[_StepRecord] = field(default_factory=lambda: [_StepRecord(n) for n in STEP_NAMES])

    def step(self, name: str) -> _StepRecord:
        return next(step for step in self.steps if step.name == name)


# --- the four steps --------------------------------------------------------------------------------


def _ensure_personal_space(ctx: _Context) -> int:
    space = personal_space_of(ctx.user)
    if space is not None:
        Membership.objects.get_or_create(user=ctx.user, space=space, defaults={"role": Membership.Role.OWNER})
        ctx.space = space
        return 0
    ctx.space = Space.objects.create(
        type=Space.Type.PERSONAL,
        owner=ctx.user,
        name=ctx.blueprint.space_name_template.format(name=ctx.user.display_name)[:200],
    )
    Membership.objects.create(user=ctx.user, space=ctx.space, role=Membership.Role.OWNER)
    return 1


def _ensure_notebook(ctx: _Context) -> int:
    notebook = onboarding_notebook_of(ctx.user)
    if notebook is not None:
        ctx.notebook = notebook
        return 0
    blueprint = ctx.blueprint
    ctx.notebook = Notebook.objects.create(
        space=ctx.space,
        owner=ctx.user,
        name=blueprint.notebook_name,
        description=blueprint.notebook_description,
        tags=list(blueprint.notebook_tags),
        visibility=blueprint.notebook_visibility,
        onboarding_key=NOTEBOOK_KEY,
    )
    return 1


def _ensure_documents(ctx: _Context) -> int:
    samples = list(ctx.blueprint.documents.all())
    present = sample_document_keys(ctx.notebook, [sample.key for sample in samples])
    missing = [
        Document(
            notebook=ctx.notebook,
            name=sample.name,
            mime_type="text/plain",
            content=sample.content,
            size_bytes=len(sample.content.encode("utf-8")),
            metadata={"source": "onboarding", "is_sample": True, "order": sample.order},
            onboarding_key=sample.key,
        )
        for sample in samples
        if sample.key not in present
    ]
    Document.objects.bulk_create(missing)
    return len(missing)


def _ensure_agent(ctx: _Context) -> int:
    agent = onboarding_agent_of(ctx.user)
    if agent is not None:
        ctx.agent = agent
        return 0
    blueprint = ctx.blueprint
    ctx.agent = Agent.objects.create(
        space=ctx.space,
        owner=ctx.user,
        name=blueprint.agent_name,
        description=blueprint.agent_description,
        type=blueprint.agent_type,
        model=blueprint.agent_model,
        temperature=blueprint.agent_temperature,
        max_tokens=blueprint.agent_max_tokens,
        system_prompt=blueprint.agent_system_prompt,
        tags=list(blueprint.agent_tags),
        onboarding_key=AGENT_KEY,
    )
    ctx.agent.knowledge_notebooks.add(ctx.notebook)
    return 1


STEPS: tuple[tuple[str, Callable[[_Context], int]], ...] = (
    ("personal_space", _ensure_personal_space),
    ("notebook", _ensure_notebook),
    ("documents", _ensure_documents),
    ("agent", _ensure_agent),
)


# --- the run ---------------------------------------------------------------------------------------

ABANDONED_RUN_ERROR = "The process running it stopped before it finished."


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
    started = time.monotonic()
    timeout = settings.ONBOARDING_TIMEOUT_SECONDS
    run = OnboardingRun(user=user, trigger=trigger, actor=actor, forced=force, started_at=timezone.now())
    record = _RunRecord()
    abandoned: list = []
    try:
        blueprint = _begin(run, started, timeout)
        if blueprint is None:
            raise OnboardingError("No onboarding blueprint is configured.")
        with transaction.atomic(), _bounded(_remaining_ms(started, timeout)):
            state = UserOnboarding.objects.select_for_update().get(pk=user.pk)
            # Holding the lock proves that no other run for this user is alive; any still "running"
            # and older than the timeout was killed (SIGKILL, a worker timeout) and is closed in _finish.
            abandoned = _abandoned_run_ids(run, timeout)
            if state.status == OnboardingStatus.COMPLETED and not force:
                raise _AlreadyCompleted
            ctx = _Context(user=user, blueprint=blueprint, state=state)
            for name, step in STEPS:
                _run_step(record.step(name), step, ctx, started, timeout)
            _mark_completed(ctx)
    except _AlreadyCompleted:
        run.status = OnboardingRun.Status.SKIPPED
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, none escapes to the login
        _record_failure(run, record, exc, started, timeout)
    except BaseException as exc:
        # Interrupted (Ctrl-C in the command, a worker shutting down): the transaction rolled back;
        # record the run as failed rather than leave it "running" forever, then let the interrupt go on.
        _record_failure(run, record, exc, started, timeout)
        _finish(run, record, started, abandoned)
        raise
    else:
        run.status = OnboardingRun.Status.COMPLETED
    return _finish(run, record, started, abandoned)


def onboard_after_sign_in(*, user: User, via: str) -> OnboardingRun | None:
    """Onboard a user who just authenticated, unless their onboarding already completed.

    Called for every successful sign-in; must never fail it, so even an unexpected error (the
    database going away mid-run, say) is logged and swallowed.
    """
    if UserOnboarding.objects.filter(user=user, status=OnboardingStatus.COMPLETED).exists():
        return None
    try:
        return onboard_user(user=user, trigger=SIGN_IN_TRIGGERS[via])
    except Exception:
        logger.exception("onboarding could not run at sign-in", extra={"user_id": str(user.pk)})
        return None


def _begin(run: OnboardingRun, started: float, timeout: int) -> Blueprint | None:
    """Record the run and show the user's state as running; return the current blueprint.

    One short block (a savepoint inside a caller's transaction), so a failure here leaves the
    connection usable for recording it (``_finish`` then inserts the run). The state's row may be
    locked by another run for this user: the wait for it is bounded by what is left of the run's time.
    """
    with transaction.atomic(), _bounded(_remaining_ms(started, timeout)):
        blueprint = blueprint_current()
        run.blueprint_version = blueprint.version if blueprint else None
        run.save(force_insert=True)
        UserOnboarding.objects.bulk_create([UserOnboarding(user_id=run.user_id)], ignore_conflicts=True)
        # ``update`` skips ``auto_now``: updated_at says since when the state is "running".
        UserOnboarding.objects.filter(pk=run.user_id).exclude(status=OnboardingStatus.COMPLETED).update(
            status=OnboardingStatus.RUNNING, updated_at=timezone.now()
        )
    return blueprint


def _abandoned_run_ids(run: OnboardingRun, timeout: int) -> list:
    cutoff = timezone.now() - timedelta(seconds=timeout)
    return list(
        OnboardingRun.objects.filter(
            user_id=run.user_id, status=OnboardingRun.Status.RUNNING, started_at__lt=cutoff
        )
        .exclude(pk=run.pk)
        .values_list("pk", flat=True)
    )


def _remaining_ms(started: float, timeout: int) -> int:
    """What is left of the run's time, in milliseconds; at least 1 (PostgreSQL reads 0 as no limit)."""
    return max(1, int((timeout - (time.monotonic() - started)) * 1000))


@contextmanager
def _bounded(milliseconds: int) -> Iterator[None]:
    """On PostgreSQL, cancel any statement or lock wait of the enclosing atomic block after ``milliseconds``.

    ``set_config(..., true)`` lasts until the end of the transaction. When the block is nested in a
    caller's transaction, the caller's bounds are put back after it succeeds (a rolled-back savepoint
    undoes them by itself).
    """
    if connection.vendor != "postgresql":
        yield
        return
    # The atomic block made a savepoint only if it is nested in the caller's transaction.
    nested = bool(connection.savepoint_ids)
    previous = None
    with connection.cursor() as cursor:
        if nested:
            cursor.execute("SELECT current_setting('statement_timeout'), current_setting('lock_timeout')")
            previous = list(cursor.fetchone())
    _set_bounds(milliseconds)
    yield
    if previous is not None:
        with connection.cursor() as cursor:
            cursor.execute(_SET_BOUNDS, previous)


def _set_bounds(milliseconds: int) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(_SET_BOUNDS, [str(milliseconds), str(milliseconds)])


_SET_BOUNDS = "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)"


def _run_step(
    step_record: _StepRecord,
    step: Callable[[_Context], int],
    ctx: _Context,
    started: float,
    timeout: int,
) -> None:
    if time.monotonic() - started > timeout:
        step_record.status = OnboardingStep.Status.FAILED
        step_record.error = _timeout_message(timeout)
        raise OnboardingTimeout(step_record.error)
    # Each step may use only what is left of the run's time, statements and lock waits alike.
    _set_bounds(_remaining_ms(started, timeout))
    step_started = time.monotonic()
    try:
        step_record.created_count = step(ctx)
    except BaseException as exc:
        step_record.status = OnboardingStep.Status.FAILED
        step_record.error = _describe(exc, timeout)
        raise
    finally:
        step_record.duration_ms = _elapsed_ms(step_started)
    step_record.status = OnboardingStep.Status.SUCCEEDED
    if time.monotonic() - started > timeout:
        step_record.status = OnboardingStep.Status.FAILED
        step_record.error = _timeout_message(timeout)
        raise OnboardingTimeout(step_record.error)


def _mark_completed(ctx: _Context) -> None:
    state = ctx.state
    if state.status != OnboardingStatus.COMPLETED:
        state.completed_at = timezone.now()
    state.status = OnboardingStatus.COMPLETED
    state.blueprint_version = ctx.blueprint.version
    state.space = ctx.space
    state.notebook = ctx.notebook
    state.agent = ctx.agent
    state.last_error = ""
    state.attempts += 1
    state.save()


def _record_failure(
    run: OnboardingRun, record: _RunRecord, exc: BaseException, started: float, timeout: int
) -> None:
    failed = next((s for s in record.steps if s.status == OnboardingStep.Status.FAILED), None)
    run.status = OnboardingRun.Status.FAILED
    run.failed_step = failed.name if failed else ""
    run.error = failed.error if failed else _describe(exc, timeout)
    run.timed_out = _is_timeout(exc)
    for step in record.steps:
        if step.status == OnboardingStep.Status.SUCCEEDED:
            step.status = OnboardingStep.Status.ROLLED_BACK
    error = (f"{run.failed_step}: {run.error}" if run.failed_step else run.error)[:2000]
    completed = Q(status=OnboardingStatus.COMPLETED)
    try:
        # Outside the run's transaction: bounded too, so a failure is never written after a long wait
        # behind another process's run (that run writes the state itself when it ends).
        with transaction.atomic(), _bounded(timeout * 1000):
            # A forced run that fails leaves a completed onboarding completed; it still counts.
            UserOnboarding.objects.filter(pk=run.user_id).update(
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
    except Exception:
        logger.exception("onboarding state could not be marked failed", extra={"user_id": str(run.user_id)})


def _finish(run: OnboardingRun, record: _RunRecord, started: float, abandoned: list) -> OnboardingRun:
    run.finished_at = timezone.now()
    run.duration_ms = _elapsed_ms(started)
    if run.status == OnboardingRun.Status.COMPLETED:
        run.created = {step.name: step.created_count for step in record.steps}
    try:
        with transaction.atomic():
            run.save()
            if run.status != OnboardingRun.Status.SKIPPED:
                OnboardingStep.objects.bulk_create(
                    OnboardingStep(
                        run=run,
                        name=step.name,
                        position=position,
                        status=step.status,
                        duration_ms=step.duration_ms,
                        created_count=step.created_count
                        if step.status == OnboardingStep.Status.SUCCEEDED
                        else 0,
                        error=step.error,
                    )
                    for position, step in enumerate(record.steps, start=1)
                )
            if abandoned:
                OnboardingRun.objects.filter(pk__in=abandoned, status=OnboardingRun.Status.RUNNING).update(
                    status=OnboardingRun.Status.FAILED, error=ABANDONED_RUN_ERROR, finished_at=run.finished_at
                )
    except Exception:
        # The database is gone or refuses the row: the run is returned unsaved, and only the log has it.
        logger.exception(
            "onboarding run could not be recorded",
            extra={"user_id": str(run.user_id), "status": run.status, "error": run.error},
        )
        return run
    transaction.on_commit(lambda: _announce(run), robust=True)
    return run


def _announce(run: OnboardingRun) -> None:
    """Log and signal the outcome once it is durable; a receiver that raises is logged, not raised."""
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
            "onboarding failed",
            extra={**fields, "failed_step": run.failed_step, "error": run.error},
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


def _describe(exc: BaseException, timeout: int) -> str:
    """A one-line account of why a run failed, naming a timeout as such."""
    if isinstance(exc, OnboardingError):
        return str(exc)
    if _is_timeout(exc):
        return _timeout_message(timeout)
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _is_timeout(exc: BaseException) -> bool:
    """Whether the run ran out of time: our own check, or PostgreSQL cancelling a statement or lock wait.

    PostgreSQL's query_canceled (57014) and lock_not_available (55P03) come from the bounds above.
    """
    if isinstance(exc, OnboardingTimeout):
        return True
    if not isinstance(exc, DatabaseError):
        return False
    sqlstate = getattr(getattr(exc, "__cause__", None), "sqlstate", None)
    return sqlstate in {"57014", "55P03"}


def _timeout_message(timeout: int) -> str:
    return (
        f"Onboarding timed out after {timeout} s (ONBOARDING_TIMEOUT_SECONDS); "
        "nothing from this run was kept."
    )


def _elapsed_ms(since: float) -> int:
    return int((time.monotonic() - since) * 1000)
