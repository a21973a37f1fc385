"""A run's deadline: ``ONBOARDING_TIMEOUT_SECONDS`` from its start, for Python and PostgreSQL alike.

Python checks it between steps. PostgreSQL enforces it inside them: ``statement_timeout`` and
``lock_timeout`` are set, for the run's transaction only, to what is left of the run's time, so no
statement and no wait for another run's lock outlasts the run. A bound is set once when the run's
transaction begins and set again before a step only when enough time has passed since to matter, so a
run that goes at the speed of the database sends one such statement, not one per step.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection

from aether.errors import UnavailableError

# PostgreSQL cancels a statement with query_canceled (57014) and a lock wait with lock_not_available
# (55P03) when the bounds set here run out.
TIMEOUT_SQLSTATES = frozenset({"57014", "55P03"})
_SET_BOUNDS = "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)"


class OnboardingTimeout(UnavailableError):
    """The run outlasted its deadline; the message says so in the words staff and users see.

    Recorded on the run, never raised by ``onboard_user``."""


class Deadline:
    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self._bound_at: float | None = None  # when the bound in force was set

    @property
    def message(self) -> str:
        return (
            f"Onboarding timed out after {self.seconds} s (ONBOARDING_TIMEOUT_SECONDS); "
            "nothing from this run was kept."
        )

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def remaining_ms(self) -> int:
        """What is left of the run's time; at least 1 (PostgreSQL reads 0 as no limit)."""
        return max(1, self.seconds * 1000 - self.elapsed_ms())

    def check(self) -> None:
        if time.monotonic() - self.started > self.seconds:
            raise OnboardingTimeout(self.message)

    @contextmanager
    def bounding(self) -> Iterator[None]:
        """Bound every statement and lock wait of the enclosing atomic block by the deadline.

        ``set_config(..., true)`` lasts until the end of the transaction. When the block is nested in
        a caller's transaction, the caller's bounds are put back after it succeeds (a savepoint that
        rolls back undoes them by itself).
        """
        if connection.vendor != "postgresql":
            yield
            return
        # The atomic block made a savepoint only if it is nested in the caller's transaction.
        previous = _current_bounds() if connection.savepoint_ids else None
        self._set(self.remaining_ms())
        yield
        if previous is not None:
            with connection.cursor() as cursor:
                cursor.execute(_SET_BOUNDS, previous)

    def rebound(self) -> None:
        """Before a step: if time has passed since the bound was set, shorten it to what is left.

        A statement may then end at most a twentieth of the run's time after the deadline; under
        that, another set_config would cost more than it bounds.
        """
        if self._bound_at is None:
            return
        if (time.monotonic() - self._bound_at) * 20 > self.seconds:
            self._set(self.remaining_ms())

    def _set(self, milliseconds: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(_SET_BOUNDS, [str(milliseconds), str(milliseconds)])
        self._bound_at = time.monotonic()


def _current_bounds() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout'), current_setting('lock_timeout')")
        return list(cursor.fetchone())


def is_timeout(exc: BaseException) -> bool:
    """Whether a run ran out of time: our own check, or PostgreSQL cancelling a statement or lock wait."""
    if isinstance(exc, OnboardingTimeout):
        return True
    if not isinstance(exc, DatabaseError):
        return False
    return getattr(exc.__cause__, "sqlstate", None) in TIMEOUT_SQLSTATES
