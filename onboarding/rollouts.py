"""Roll-outs: bring the users onboarded with older blueprint versions up to the current one.

``rollout_start`` fixes who a roll-out reaches (every user whose onboarding completed with an older
version; users onboarded later receive the current version directly) and queues its first batch. A
worker (``manage.py db_worker``) runs ``onboarding.tasks.rollout_batch``, which calls
``rollout_run_batch``: each user in a transaction of their own, holding the same lock on the user as
onboarding (so a sign-in or a re-run at the same moment waits its turn), the change decided by
``onboarding.upgrades.upgrade_for`` and recorded as an onboarding run with trigger ``rollout``. The
batch then queues the next one. On PostgreSQL the batch reads its users' states up front and writes each
user's change in one statement that checks, under the lock, that all is still as read
(``onboarding.upgrade_statement``); a user whose state or copies changed meanwhile takes the usual path.

How it stays exact when a worker dies:

* **Each user once.** A user's change and their entry's outcome (``RolloutUser``) commit together; a
  batch takes only pending entries and checks the entry again under the user's lock, so a user done by
  a worker that was then killed is neither done again nor skipped.
* **One task at a time.** The roll-out's ``ticket`` names the one task allowed to work on it; every
  queued task carries one, and a task whose ticket is no longer the roll-out's ends at once. Pausing
  and cancelling take the ticket away, so a batch in progress stops at its next heartbeat.
* **Picked up again.** A batch beats (``heartbeat_at``) every few users; a running roll-out whose
  heartbeat is older than ``ROLLOUT_LEASE_SECONDS`` lost its worker, and whoever looks at it next (the
  admin, the command, a progress poll) gives it a new ticket and queues its next batch.
"""

import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import User
from notebooks.models import Document
from onboarding.metrics import observe_run
from onboarding.models import (
    ROLLOUT_UNFINISHED,
    OnboardingRun,
    OnboardingStatus,
    Rollout,
    RolloutUser,
    UserOnboarding,
)
from onboarding.recording import lock_onboarding_of
from onboarding.selectors import blueprint_current, blueprint_samples
from onboarding.steps import Sample, sample_document
from onboarding.upgrade_statement import StateAsRead, states_as_read, upgrade_as_read
from onboarding.upgrades import HeldDocument, TextSHA256, Upgrade, held_documents, upgrade_for, users_behind

logger = logging.getLogger("aether.onboarding")

# A batch shows it is alive at least this often, in users, whatever the lease.
HEARTBEAT_USERS = 50
DEFAULT_BATCH_SIZE = 200
MAX_BATCH_SIZE = 5000


class RolloutRefused(Exception):
    """What was asked cannot be done now; the message says why, in the words staff read."""


class NothingToRollOut(RolloutRefused):
    """Every onboarded user already has the current version."""


@dataclass(frozen=True)
class RolloutProgress:
    rollout: Rollout
    done: int
    failed: int
    skipped: int
    remaining: int

    @property
    def total(self) -> int:
        return self.done + self.failed + self.skipped + self.remaining

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * (self.total - self.remaining) / self.total)

    def as_dict(self) -> dict[str, object]:
        rollout = self.rollout
        return {
            "id": rollout.pk,
            "status": rollout.status,
            "to_version": rollout.to_version,
            "from_versions": rollout.from_versions,
            "started_at": rollout.started_at.isoformat(),
            "finished_at": rollout.finished_at.isoformat() if rollout.finished_at else None,
            "total": self.total,
            "done": self.done,
            "failed": self.failed,
            "skipped": self.skipped,
            "remaining": self.remaining,
            "percent": self.percent,
        }


# --- starting, pausing, resuming, cancelling ----------------------------------------------------------


def rollout_start(*, actor: User | None, batch_size: int = DEFAULT_BATCH_SIZE) -> Rollout:
    """Start rolling the current blueprint version out to every user onboarded with an older one.

    Refused (``RolloutRefused``) while another roll-out is running or paused; ``NothingToRollOut`` when
    every onboarded user has the current version. The users it reaches are fixed now.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise RolloutRefused(f"The batch size must be from 1 to {MAX_BATCH_SIZE}; it was {batch_size}.")
    with transaction.atomic():
        target = blueprint_current()
        if target is None:
            raise RolloutRefused("No blueprint version is published: there is nothing to roll out.")
        _refuse_if_one_is_unfinished()
        behind = users_behind(target).values_list("user_id", "blueprint_version")
        now = timezone.now()
        rollout = Rollout(
            blueprint=target,
            to_version=target.version,
            started_by=actor,
            started_at=now,
            batch_size=batch_size,
            ticket=uuid.uuid4(),
            heartbeat_at=now,
        )
        try:
            with transaction.atomic():
                rollout.save(force_insert=True)
        except IntegrityError:
            # Another start committed between the check and the insert: the constraint decided.
            _refuse_if_one_is_unfinished()
            raise
        entries = [
            RolloutUser(rollout=rollout, user_id=user_id, from_version=version) for user_id, version in behind
        ]
        if not entries:
            transaction.set_rollback(True)
            raise NothingToRollOut(
                f"Every onboarded user has version {target.version} already: nothing to roll out."
            )
        RolloutUser.objects.bulk_create(entries, batch_size=5000)
        rollout.total = len(entries)
        rollout.from_versions = sorted({entry.from_version for entry in entries})
        rollout.save(update_fields=["total", "from_versions"])
        _queue_batch(rollout)
    logger.info(
        "roll-out started",
        extra={"rollout_id": rollout.pk, "to_version": rollout.to_version, "users": rollout.total},
    )
    return rollout


def _refuse_if_one_is_unfinished() -> None:
    unfinished = Rollout.objects.filter(status__in=ROLLOUT_UNFINISHED).first()
    if unfinished is not None:
        raise RolloutRefused(
            f"Roll-out {unfinished.pk} (version {unfinished.to_version}) is {unfinished.status}: only one "
            "roll-out runs at a time. Let it finish, or cancel it first. Nothing was started."
        )


def rollout_pause(*, rollout: Rollout) -> Rollout:
    """Stop after the user in progress; ``rollout_resume`` goes on where it stopped."""
    return _change_status(
        rollout, allowed=(Rollout.Status.RUNNING,), status=Rollout.Status.PAUSED, verb="paused"
    )


def rollout_resume(*, rollout: Rollout) -> Rollout:
    return _change_status(
        rollout, allowed=(Rollout.Status.PAUSED,), status=Rollout.Status.RUNNING, verb="resumed"
    )


def rollout_cancel(*, rollout: Rollout) -> Rollout:
    """End it for good: the users not reached yet stay on their version (a new roll-out reaches them)."""
    return _change_status(
        rollout, allowed=ROLLOUT_UNFINISHED, status=Rollout.Status.CANCELLED, verb="cancelled"
    )


def _change_status(rollout: Rollout, *, allowed: tuple[str, ...], status: str, verb: str) -> Rollout:
    now = timezone.now()
    running = status == Rollout.Status.RUNNING
    changes = {
        "status": status,
        # Resuming hands out a new ticket; pausing and cancelling take it away, which stops a batch.
        "ticket": uuid.uuid4() if running else None,
        "heartbeat_at": now,
        "finished_at": now if status not in ROLLOUT_UNFINISHED else None,
    }
    with transaction.atomic():
        if not Rollout.objects.filter(pk=rollout.pk, status__in=allowed).update(**changes):
            rollout.refresh_from_db()
            raise RolloutRefused(
                f"Roll-out {rollout.pk} is {rollout.status}; "
                f"only a {' or '.join(allowed)} roll-out can be {verb}."
            )
        rollout.refresh_from_db()
        if running:
            _queue_batch(rollout)
    logger.info(f"roll-out {verb}", extra={"rollout_id": rollout.pk, "to_version": rollout.to_version})
    return rollout


def _queue_batch(rollout: Rollout) -> None:
    """Queue the task that runs the next batch, carrying the roll-out's ticket, in the caller's
    transaction: the task's row commits with the change that calls for it, or not at all."""
    # Imported here: the tasks module imports this one for the functions its tasks call.
    from onboarding.tasks import rollout_batch

    rollout_batch.enqueue(rollout.pk, str(rollout.ticket))


# --- progress, and picking up a roll-out whose worker died ------------------------------------------


def rollout_progress(rollout: Rollout, *, revive: bool = True) -> RolloutProgress:
    """How far ``rollout`` is (two queries: the roll-out and its counts), picking it up again when its
    worker stopped beating (``revive``)."""
    if revive:
        rollout_revive_if_stale(rollout)
    rollout.refresh_from_db()
    counts = RolloutUser.objects.filter(rollout=rollout).aggregate(
        **{outcome: Count("pk", filter=Q(outcome=outcome)) for outcome in RolloutUser.Outcome.values}
    )
    return RolloutProgress(
        rollout=rollout,
        done=counts["done"],
        failed=counts["failed"],
        skipped=counts["skipped"],
        remaining=counts["pending"],
    )


def rollout_revive_if_stale(rollout: Rollout) -> bool:
    """Queue the next batch of a running roll-out whose worker stopped beating; answer whether it did.

    A new ticket makes any task still queued for it, or a worker that was only slow, stop at once.
    Whoever notices first does it; the others find the heartbeat fresh.
    """
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.ROLLOUT_LEASE_SECONDS)
    with transaction.atomic():
        revived = Rollout.objects.filter(
            pk=rollout.pk, status=Rollout.Status.RUNNING, heartbeat_at__lt=stale_before
        ).update(ticket=uuid.uuid4(), heartbeat_at=now)
        if revived:
            rollout.refresh_from_db()
            _queue_batch(rollout)
    if revived:
        logger.warning(
            "roll-out picked up again: its worker stopped before finishing its batch",
            extra={"rollout_id": rollout.pk, "lease_seconds": settings.ROLLOUT_LEASE_SECONDS},
        )
    return bool(revived)


# --- the work ----------------------------------------------------------------------------------------


class _Batch:
    """One batch's worth of a roll-out, run by the task holding ``ticket``."""

    def __init__(self, rollout: Rollout, ticket: str) -> None:
        self.rollout = rollout
        self.ticket = ticket
        self.samples: tuple[Sample, ...] = blueprint_samples(rollout.blueprint)
        self.outcomes: Counter[str] = Counter()
        self._beaten_at = time.monotonic()
        self._since_beat = 0

    def beat(self) -> bool:
        """Show the roll-out's batch is alive, every few users or a third of the lease; answer whether it
        is still this task's to run (not paused, cancelled or handed to another task)."""
        self._since_beat += 1
        lease = settings.ROLLOUT_LEASE_SECONDS
        if self._since_beat < HEARTBEAT_USERS and time.monotonic() - self._beaten_at < lease / 3:
            return True
        self._since_beat, self._beaten_at = 0, time.monotonic()
        return self.holds(heartbeat_at=timezone.now())

    def holds(self, **changes: object) -> bool:
        return bool(
            Rollout.objects.filter(
                pk=self.rollout.pk, ticket=self.ticket, status=Rollout.Status.RUNNING
            ).update(**changes)
        )


def rollout_run_batch(*, rollout_id: int, ticket: str) -> None:
    """Run the next batch of a roll-out, if ``ticket`` is still its own, then queue the next batch or
    finish it. Called by the ``rollout_batch`` task."""
    rollout = Rollout.objects.select_related("blueprint").filter(pk=rollout_id).first()
    if rollout is None:
        return
    batch = _Batch(rollout, ticket)
    if not batch.holds(heartbeat_at=timezone.now()):
        logger.info(
            "roll-out batch not run: paused, cancelled or taken over", extra={"rollout_id": rollout_id}
        )
        return
    entries = list(
        RolloutUser.objects.filter(rollout=rollout, outcome=RolloutUser.Outcome.PENDING)
        .order_by("user_id")
        .values_list("pk", "user_id")[: rollout.batch_size]
    )
    user_ids = [user_id for _, user_id in entries]
    # Read up front, so that on PostgreSQL each user's change is one statement (``upgrade_statement``).
    states = states_as_read(user_ids) if connection.vendor == "postgresql" else {}
    held = held_documents(user_ids)
    for entry_id, user_id in entries:
        outcome = _upgrade_user(batch, entry_id, user_id, held.get(user_id, {}), states.get(user_id))
        batch.outcomes[outcome] += 1
        if not batch.beat():
            break
    logger.info(
        "roll-out batch done",
        extra={"rollout_id": rollout_id, "to_version": rollout.to_version, **batch.outcomes},
    )
    with transaction.atomic():
        if RolloutUser.objects.filter(rollout=rollout, outcome=RolloutUser.Outcome.PENDING).exists():
            rollout.ticket = uuid.uuid4()
            if batch.holds(ticket=rollout.ticket, heartbeat_at=timezone.now()):
                _queue_batch(rollout)
        elif batch.holds(status=Rollout.Status.COMPLETED, ticket=None, finished_at=timezone.now()):
            logger.info(
                "roll-out completed", extra={"rollout_id": rollout_id, "to_version": rollout.to_version}
            )


def _upgrade_user(
    batch: _Batch,
    entry_id: int,
    user_id: object,
    held: dict[str, HeldDocument],
    state_as_read: StateAsRead | None,
) -> str:
    """Bring one user to the roll-out's version in a transaction of their own; answer the outcome.

    ``held`` is what the batch read of their documents beforehand: the user may rename, edit or delete
    them meanwhile without the lock, so each replacement is made only if the copy is still as read.
    With ``state_as_read`` (PostgreSQL), the change decided from it is written in one statement if all is
    still as read; otherwise, or without it, the user's state is read again under the lock.
    """
    rollout = batch.rollout
    started_at, started = timezone.now(), time.monotonic()
    if state_as_read is not None and _behind(state_as_read, rollout):
        try:
            run = _upgrade_as_read(batch, entry_id, user_id, held, state_as_read, started_at, started)
        except Exception:  # the usual path below tries again, and records a failure if it fails
            logger.warning(
                "roll-out statement failed for a user; trying again under the lock",
                extra={"rollout_id": rollout.pk, "user_id": str(user_id)},
                exc_info=True,
            )
            run = None
        if run is not None:
            transaction.on_commit(lambda: observe_run(run, ()), robust=True)
            return RolloutUser.Outcome.DONE
    try:
        with transaction.atomic():
            state = _lock_and_read(user_id)
            if state is None or not _behind(state, rollout):
                # Also the way a user done by another worker meanwhile looks: their outcome is kept.
                pending = RolloutUser.objects.filter(pk=entry_id, outcome=RolloutUser.Outcome.PENDING)
                return (
                    RolloutUser.Outcome.SKIPPED
                    if pending.update(outcome=RolloutUser.Outcome.SKIPPED)
                    else "gone"
                )
            upgrade = upgrade_for(
                samples=batch.samples,
                version=rollout.to_version,
                received=state.received or {},
                held=held,
                has_notebook=state.notebook_id is not None,
            )
            _write(upgrade, user_id, state.notebook_id)
            run = OnboardingRun.objects.create(
                user_id=user_id,
                trigger=OnboardingRun.Trigger.ROLLOUT,
                status=OnboardingRun.Status.COMPLETED,
                actor_id=rollout.started_by_id,
                blueprint_version=rollout.to_version,
                started_at=started_at,
                finished_at=timezone.now(),
                duration_ms=int((time.monotonic() - started) * 1000),
                created={"documents": len(upgrade.add)},
            )
            RolloutUser.objects.filter(pk=entry_id).update(outcome=RolloutUser.Outcome.DONE, run=run)
            transaction.on_commit(lambda: observe_run(run, ()), robust=True)
            return RolloutUser.Outcome.DONE
    except Exception as exc:  # noqa: BLE001 - one user's failure is recorded; the roll-out goes on
        return _record_failure(batch, entry_id, user_id, started_at, started, exc)


def _behind(state: UserOnboarding | StateAsRead, rollout: Rollout) -> bool:
    """Whether a user in ``state`` is one the roll-out brings up: completed with an older version."""
    return state.status == OnboardingStatus.COMPLETED and (state.blueprint_version or 0) < rollout.to_version


def _upgrade_as_read(
    batch: _Batch,
    entry_id: int,
    user_id: object,
    held: dict[str, HeldDocument],
    state: StateAsRead,
    started_at: datetime,
    started: float,
) -> OnboardingRun | None:
    """The user's change decided from what the batch read, written in one statement if all is still as
    read; the run recorded, or ``None`` when the statement found something changed and wrote nothing."""
    upgrade = upgrade_for(
        samples=batch.samples,
        version=batch.rollout.to_version,
        received=state.received or {},
        held=held,
        has_notebook=state.notebook_id is not None,
    )
    return upgrade_as_read(
        upgrade=upgrade,
        entry_id=entry_id,
        user_id=user_id,
        state=state,
        actor_id=batch.rollout.started_by_id,
        started_at=started_at,
        started=started,
    )


def _lock_and_read(user_id: object) -> UserOnboarding | None:
    """Take the user's turn (onboarding's lock, ``lock_onboarding_of``), then read their onboarding
    state; ``None`` when the user, or their onboarding state, is gone.

    Two statements: when a statement waits for a row's lock, PostgreSQL reads again only the rows it
    locks, so a state read in the same statement could be the one from before a run that held the lock
    committed (and the user would be upgraded twice).
    """
    if not lock_onboarding_of(user_id):
        return None
    return _STATE.filter(pk=user_id).first()


# Built once: assembling a query costs more than running this one.
_STATE = UserOnboarding.objects.only("status", "blueprint_version", "received", "notebook_id")


def _write(upgrade: Upgrade, user_id: object, notebook_id: object) -> None:
    """Add the new samples, replace what the user left as it came, and record what they now received."""
    if upgrade.add:
        Document.objects.bulk_create([sample_document(sample, notebook_id) for sample in upgrade.add])
    now = timezone.now()
    for replacement in upgrade.replace:
        sample, document = replacement.sample, replacement.document
        changes: dict[str, object] = {"updated_at": now}
        if replacement.text:
            changes.update(content=sample.content, size_bytes=len(sample.content.encode("utf-8")))
        if replacement.name:
            changes["name"] = sample.name
        # Only while the copy is still as the batch found it: an edit made since is the user's, and kept.
        replaced = (
            Document.objects.filter(pk=document.id, name=document.name)
            .alias(sha256=TextSHA256("content"))
            .filter(sha256=document.sha256)
            .update(**changes)
        )
        if not replaced:
            upgrade.received[sample.key] = _receipt_before(upgrade, sample.key)
    UserOnboarding.objects.filter(pk=user_id).update(
        blueprint_version=upgrade.version, received=upgrade.received, updated_at=now
    )


def _receipt_before(upgrade: Upgrade, key: str) -> dict:
    """The receipt a copy had before this upgrade (its text and name as received, kept by the user)."""
    replacement = next(r for r in upgrade.replace if r.sample.key == key)
    receipt = dict(upgrade.received[key])
    if replacement.text:
        receipt["sha256"] = replacement.document.sha256
    if replacement.name:
        receipt["name"] = replacement.document.name
    return receipt


def _record_failure(
    batch: _Batch, entry_id: int, user_id: object, started_at, started: float, exc: Exception
) -> str:
    """A user whose change failed: their transaction rolled back; record a failed run and the outcome."""
    error = _describe(exc)
    logger.warning(
        "roll-out failed for a user",
        extra={"rollout_id": batch.rollout.pk, "user_id": str(user_id), "error": error},
    )
    try:
        with transaction.atomic():
            run = OnboardingRun.objects.create(
                user_id=user_id,
                trigger=OnboardingRun.Trigger.ROLLOUT,
                status=OnboardingRun.Status.FAILED,
                actor_id=batch.rollout.started_by_id,
                blueprint_version=batch.rollout.to_version,
                started_at=started_at,
                finished_at=timezone.now(),
                duration_ms=int((time.monotonic() - started) * 1000),
                error=error[:2000],
            )
            RolloutUser.objects.filter(pk=entry_id, outcome=RolloutUser.Outcome.PENDING).update(
                outcome=RolloutUser.Outcome.FAILED, run=run
            )
    except Exception:
        logger.exception("roll-out failure could not be recorded", extra={"user_id": str(user_id)})
    return RolloutUser.Outcome.FAILED


def _describe(exc: Exception) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def rollouts_with_progress(*, limit: int = 50) -> list[RolloutProgress]:
    """The newest roll-outs with their counts, in one query; unfinished ones whose worker died are picked
    up again on the way."""
    outcome = RolloutUser.Outcome
    rollouts = list(
        Rollout.objects.select_related("started_by")
        .annotate(**{f"n_{name}": Count("users", filter=Q(users__outcome=name)) for name in outcome.values})
        .order_by("-started_at")[:limit]
    )
    if any(rollout_revive_if_stale(r) for r in rollouts if r.status == Rollout.Status.RUNNING):
        return rollouts_with_progress(limit=limit)
    return [
        RolloutProgress(
            rollout=r, done=r.n_done, failed=r.n_failed, skipped=r.n_skipped, remaining=r.n_pending
        )
        for r in rollouts
    ]
