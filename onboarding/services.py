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
  every statement and lock wait of the transaction.
"""

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F
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


def onboard_user(
    *, user: User, trigger: str, actor: User | None = None, force: bool = False
) -> OnboardingRun:
    """Run the user's onboarding now and return the recorded run.

    Without ``force`` a user whose onboarding already completed is left alone (the run is recorded as
    ``skipped``); with it, whatever is missing is created again. Failures never raise: they are
    recorded on the run and on the user's state, and the run is returned.
    """
    started = time.monotonic()
    timeout = settings.ONBOARDING_TIMEOUT_SECONDS
    blueprint = blueprint_current()
    UserOnboarding.objects.get_or_create(user=user)
    run = OnboardingRun.objects.create(
        user=user,
        trigger=trigger,
        actor=actor,
        forced=force,
        blueprint_version=blueprint.version if blueprint else None,
        started_at=timezone.now(),
    )
    UserOnboarding.objects.filter(pk=user.pk).exclude(status=OnboardingStatus.COMPLETED).update(
        status=OnboardingStatus.RUNNING, attempts=F("attempts") + 1
    )
    record = _RunRecord()
    try:
        if blueprint is None:
            raise OnboardingError("No onboarding blueprint is configured.")
        with transaction.atomic(), _bounded(timeout):
            state = UserOnboarding.objects.select_for_update().get(pk=user.pk)
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
        _finish(run, record, started)
        raise
    else:
        run.status = OnboardingRun.Status.COMPLETED
    return _finish(run, record, started)


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


@contextmanager
def _bounded(timeout: int) -> Iterator[None]:
    """On PostgreSQL, cancel any statement or lock wait of the run's transaction that outlasts the run.

    ``set_config(..., true)`` lasts until the end of the transaction. When the run is nested in a
    caller's transaction, the caller's bounds are put back after a successful run (a rolled-back
    savepoint undoes them by itself).
    """
    if connection.vendor != "postgresql":
        yield
        return
    # Our atomic block made a savepoint only if it is nested in the caller's transaction.
    nested = bool(connection.savepoint_ids)
    previous = None
    with connection.cursor() as cursor:
        if nested:
            cursor.execute("SELECT current_setting('statement_timeout'), current_setting('lock_timeout')")
            previous = list(cursor.fetchone())
        milliseconds = str(int(timeout * 1000))
        cursor.execute(_SET_BOUNDS, [milliseconds, milliseconds])
    yield
    if previous is not None:
        with connection.cursor() as cursor:
            cursor.execute(_SET_BOUNDS, previous)


_SET_BOUNDS = "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)"


def _run_step(
    step_record: _StepRecord,
    step: Callable[[_Context], int],
    ctx: _Context,
    started: float,
    timeout: int,
) -> None:
    step_started = time.monotonic()
    try:
        step_record.created_count = step(ctx)
    except BaseException as exc:
        step_record.status = OnboardingStep.Status.FAILED
        step_record.error = _describe(exc, started, timeout)
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
    state.save()


def _record_failure(
    run: OnboardingRun, record: _RunRecord, exc: Exception, started: float, timeout: int
) -> None:
    failed = next((s for s in record.steps if s.status == OnboardingStep.Status.FAILED), None)
    run.status = OnboardingRun.Status.FAILED
    run.failed_step = failed.name if failed else ""
    run.error = failed.error if failed else _describe(exc, started, timeout)
    for step in record.steps:
        if step.status == OnboardingStep.Status.SUCCEEDED:
            step.status = OnboardingStep.Status.ROLLED_BACK
    error = f"{run.failed_step}: {run.error}" if run.failed_step else run.error
    UserOnboarding.objects.filter(pk=run.user_id).exclude(status=OnboardingStatus.COMPLETED).update(
        status=OnboardingStatus.FAILED, last_error=error[:2000]
    )


def _finish(run: OnboardingRun, record: _RunRecord, started: float) -> OnboardingRun:
    run.finished_at = timezone.now()
    run.duration_ms = _elapsed_ms(started)
    if run.status == OnboardingRun.Status.COMPLETED:
        run.created = {step.name: step.created_count for step in record.steps}
    run.save()
    if run.status != OnboardingRun.Status.SKIPPED:
        OnboardingStep.objects.bulk_create(
            OnboardingStep(
                run=run,
                name=step.name,
                position=position,
                status=step.status,
                duration_ms=step.duration_ms,
                created_count=step.created_count if step.status == OnboardingStep.Status.SUCCEEDED else 0,
                error=step.error,
            )
            for position, step in enumerate(record.steps, start=1)
        )
    transaction.on_commit(lambda: _announce(run))
    return run


def _announce(run: OnboardingRun) -> None:
    """Log and signal the outcome once it is durable."""
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
        onboarding_completed.send(sender=OnboardingRun, user=run.user, run=run)
    elif run.status == OnboardingRun.Status.FAILED:
        logger.warning(
            "onboarding failed",
            extra={**fields, "failed_step": run.failed_step, "error": run.error},
        )
        onboarding_failed.send(sender=OnboardingRun, user=run.user, run=run)
    else:
        logger.info("onboarding skipped: already completed", extra=fields)


def _describe(exc: Exception, started: float, timeout: int) -> str:
    """A one-line account of why a run failed, naming a timeout as such."""
    if isinstance(exc, OnboardingError):
        return str(exc)
    if isinstance(exc, DatabaseError) and _is_cancellation(exc):
        return _timeout_message(timeout)
    if time.monotonic() - started > timeout:
        return _timeout_message(timeout)
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _is_cancellation(exc: DatabaseError) -> bool:
    # PostgreSQL's query_canceled (57014) and lock_not_available (55P03), raised by the bounds above.
    sqlstate = getattr(getattr(exc, "__cause__", None), "sqlstate", None)
    return sqlstate in {"57014", "55P03"}


def _timeout_message(timeout: int) -> str:
    return (
        f"Onboarding timed out after {timeout} s (ONBOARDING_TIMEOUT_SECONDS); "
        "nothing from this run was kept."
    )


def _elapsed_ms(since: float) -> int:
    return int((time.monotonic() - since) * 1000)
