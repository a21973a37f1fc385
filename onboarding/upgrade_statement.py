"""A roll-out's change to one user in one statement, on PostgreSQL, while all is as the batch read it.

A batch reads its users' onboarding states and sample copies up front (``states_as_read``,
``upgrades.held_documents``) and decides each user's upgrade from them. ``upgrade_as_read`` then sends
one statement per user, a transaction of its own in autocommit (as the worker runs tasks): it takes
onboarding's lock on the user, checks under it that their state, their roll-out entry and the copies it
replaces are still as read, and only then writes the whole change: the new documents, the replaced
texts and names, the state, the run with trigger ``rollout`` and the entry's outcome. When anything
differs it writes nothing and answers ``None``; the caller then takes the usual path, which reads the
user again under the lock.

Raw SQL, because the ORM has no data-modifying CTE and no ``INSERT ... SELECT``, and one statement is the
point: a user costs one round trip instead of eight (BEGIN, the lock with the read, five writes, COMMIT).
"""

import functools
import json
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from onboarding.models import OnboardingRun, OnboardingStatus, RolloutUser, UserOnboarding
from onboarding.steps import Receipt, sample_document
from onboarding.upgrades import Upgrade


@dataclass(frozen=True)
class StateAsRead:
    """What the batch read of a user's onboarding state, and what the statement checks is unchanged."""

    status: str
    blueprint_version: int | None
    received: dict[str, Receipt]
    notebook_id: uuid.UUID | None


def states_as_read(user_ids: list[object]) -> dict[object, StateAsRead]:
    """The onboarding states of the users, by user id (one query, no lock)."""
    rows = UserOnboarding.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "status", "blueprint_version", "received", "notebook_id"
    )
    return {user_id: StateAsRead(*state) for user_id, *state in rows}


# Each row the statement depends on is checked as it is locked or updated: under READ COMMITTED,
# PostgreSQL reads such a row again when a transaction that committed while this one waited (for the
# user's lock, say) changed it, and checks the conditions on that newest version. The writes read
# ``state``, so they happen only when the state, the entry and the copies passed; ``turn`` is taken
# first, as every other part needs it. ``{replacements}`` and ``{additions}`` are row lists (see
# ``_statement``).
_UPGRADE_AS_READ = """
WITH turn AS (
    SELECT id FROM accounts_user WHERE id = %(user_id)s FOR NO KEY UPDATE
),
entry AS (
    SELECT id FROM onboarding_rolloutuser
    WHERE id = %(entry_id)s AND outcome = %(pending)s AND EXISTS (SELECT FROM turn)
    FOR NO KEY UPDATE
),
replacements (id, name, sha256, new_name, new_content, new_size_bytes) AS (
    {replacements}
),
copies AS (
    SELECT d.id FROM notebooks_document AS d
    JOIN replacements AS r ON d.id = r.id AND d.name = r.name
        AND encode(sha256(convert_to(d.content, 'UTF8')), 'hex') = r.sha256
    WHERE EXISTS (SELECT FROM turn)
    FOR NO KEY UPDATE OF d
),
state AS (
    UPDATE onboarding_useronboarding
    SET blueprint_version = %(to_version)s, received = %(received)s::jsonb, updated_at = %(now)s
    WHERE user_id = (SELECT id FROM turn)
        AND status = %(status)s
        AND blueprint_version IS NOT DISTINCT FROM %(from_version)s
        AND received = %(received_as_read)s::jsonb
        AND notebook_id IS NOT DISTINCT FROM %(notebook_id)s
        AND EXISTS (SELECT FROM entry)
        AND (SELECT count(*) FROM copies) = (SELECT count(*) FROM replacements)
    RETURNING user_id
),
replaced AS (
    UPDATE notebooks_document AS d
    SET name = r.new_name,
        content = coalesce(r.new_content, d.content),
        size_bytes = coalesce(r.new_size_bytes, d.size_bytes),
        updated_at = %(now)s
    FROM state, replacements AS r
    WHERE d.id = r.id
),
added AS (
    INSERT INTO notebooks_document (id, notebook_id, name, mime_type, size_bytes, content, file,
                                    metadata, onboarding_key, created_at, updated_at)
    SELECT a.id, %(notebook_id)s, a.name, 'text/plain', a.size_bytes, a.content, '', a.metadata,
           a.key, %(now)s, %(now)s
    FROM state, ({additions}) AS a (id, name, content, size_bytes, metadata, key)
),
run AS (
    INSERT INTO onboarding_onboardingrun (id, user_id, trigger, status, forced, blueprint_version,
                                          started_at, finished_at, duration_ms, failed_step, error,
                                          timed_out, created, actor_id, request_id)
    SELECT %(run_id)s, user_id, %(trigger)s, %(run_status)s, false, %(to_version)s,
           %(started_at)s, %(finished_at)s, %(duration_ms)s, '', '', false, %(created)s::jsonb,
           %(actor_id)s, ''
    FROM state
),
done AS (
    UPDATE onboarding_rolloutuser SET outcome = %(done)s, run_id = %(run_id)s
    FROM state WHERE id = %(entry_id)s
)
SELECT count(*) FROM state
"""

_REPLACEMENT = ("uuid", "text", "text", "text", "text", "bigint")
_ADDITION = ("uuid", "text", "text", "bigint", "jsonb", "text")


@functools.cache
def _statement(replacements: int, additions: int) -> str:
    """The statement for a user with that many copies to replace and documents to add.

    Rows written out as ``VALUES`` with one parameter each, not arrays: PostgreSQL then knows how many
    rows there are when it plans the prepared statement once, and keeps that plan (with arrays it
    planned each statement again, which cost more than running it).
    """
    return _UPGRADE_AS_READ.format(
        replacements=_rows("replacement", _REPLACEMENT, replacements),
        additions=_rows("addition", _ADDITION, additions),
    )


def _rows(name: str, types: tuple[str, ...], count: int) -> str:
    """``count`` rows of parameters ``%(name<row>_<column>)s``, or no row of those types."""
    if not count:
        return "SELECT " + ", ".join(f"NULL::{type_}" for type_ in types) + " WHERE false"
    return "VALUES " + ", ".join(
        "(" + ", ".join(f"%({name}{row}_{column})s::{type_}" for column, type_ in enumerate(types)) + ")"
        for row in range(count)
    )


def _row_params(name: str, rows: list[tuple]) -> dict[str, object]:
    return {
        f"{name}{row}_{column}": value
        for row, values in enumerate(rows)
        for column, value in enumerate(values)
    }


def upgrade_as_read(
    *,
    upgrade: Upgrade,
    entry_id: int,
    user_id: object,
    state: StateAsRead,
    actor_id: object,
    started_at: datetime,
    started: float,
) -> OnboardingRun | None:
    """Write ``upgrade``, decided from ``state`` as read, if the user's state, their pending entry and
    the copies it replaces are unchanged; answer the run recorded, or ``None`` when nothing was written.

    Outside a transaction the statement is the user's transaction; inside a caller's, a savepoint keeps
    a failure to this user.
    """
    now = timezone.now()
    run = OnboardingRun(
        user_id=user_id,
        trigger=OnboardingRun.Trigger.ROLLOUT,
        status=OnboardingRun.Status.COMPLETED,
        actor_id=actor_id,
        blueprint_version=upgrade.version,
        started_at=started_at,
        finished_at=now,
        duration_ms=int((time.monotonic() - started) * 1000),
        created={"documents": len(upgrade.add)},
    )
    replacements = [
        (
            r.document.id,
            r.document.name,
            r.document.sha256,
            r.sample.name if r.name else r.document.name,
            r.sample.content if r.text else None,
            len(r.sample.content.encode("utf-8")) if r.text else None,
        )
        for r in upgrade.replace
    ]
    additions = [
        (d.id, d.name, d.content, d.size_bytes, json.dumps(d.metadata), d.onboarding_key)
        for d in (sample_document(sample, state.notebook_id) for sample in upgrade.add)
    ]
    params = {
        "user_id": user_id,
        "entry_id": entry_id,
        "pending": RolloutUser.Outcome.PENDING,
        "done": RolloutUser.Outcome.DONE,
        "status": OnboardingStatus.COMPLETED,
        "from_version": state.blueprint_version,
        "received_as_read": json.dumps(state.received),
        "notebook_id": state.notebook_id,
        "to_version": upgrade.version,
        "received": json.dumps(upgrade.received),
        "now": now,
        "run_id": run.pk,
        "trigger": run.trigger,
        "run_status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_ms": run.duration_ms,
        "created": json.dumps(run.created),
        "actor_id": actor_id,
        **_row_params("replacement", replacements),
        **_row_params("addition", additions),
    }
    own_transaction = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with own_transaction, connection.cursor() as cursor:
        cursor.execute(_statement(len(replacements), len(additions)), params)
        (written,) = cursor.fetchone()
    return run if written else None
