"""Request counts per client and window, in the database, so that every process sees the same numbers.

A throttle of ``limit`` requests per ``period`` seconds counts each client's requests in fixed windows of
``period`` seconds and estimates the last ``period`` seconds as the current window's count plus the
previous window's, weighted by how much of it still lies within the last ``period`` seconds (the usual
sliding-window approximation). A burst is counted exactly whether or not it straddles two windows, and
nobody gets twice the rate by sending it on both sides of a window's end.

Counting one request is one statement on PostgreSQL: ``INSERT … ON CONFLICT DO UPDATE … RETURNING``,
which increments the row atomically under concurrent requests from any number of connections (no lost
updates, unlike reading and writing a list of timestamps in a cache), and reads the previous window in
the same round trip. A refused request is taken back off the count (one more statement, on refusals
only), so what is counted is what was served, and ``Retry-After`` holds for a client that waits.

Windows are numbered from the Unix epoch by each process's wall clock: replicas' clocks agree to within
milliseconds (NTP), which only moves a window's end by as much. A database error (the database
unreachable) is raised as it is: a throttle never lets a request through, or refuses it, because it could
not count.
"""

import math
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import F, PositiveIntegerField
from django.db.models.expressions import RawSQL

from aether.env import Rate
from aether.throttling.models import ThrottleCount

# Expired windows are deleted by each process at most this often (one indexed DELETE).
PRUNE_INTERVAL_SECONDS = 60.0

# Rounding of float seconds must not tip a count over by one.
_EPSILON = 1e-6

# The table's name is the model's; every value is a query parameter.
_TABLE = ThrottleCount._meta.db_table
_UPSERT = (
    f"INSERT INTO {_TABLE} AS counted (key, window_number, hits, expires_at) "  # noqa: S608
    "VALUES (%s, %s, 1, %s) "
    "ON CONFLICT (key, window_number) DO UPDATE SET hits = counted.hits + 1 RETURNING hits"
)
_HITS = f"SELECT hits FROM {_TABLE} WHERE key = %s AND window_number = %s"  # noqa: S608
# PostgreSQL: both in one statement, one round trip.
_UPSERT_AND_PREVIOUS = f"WITH hit AS ({_UPSERT}) SELECT hit.hits, ({_HITS}) FROM hit"  # noqa: S608

_prune_lock = threading.Lock()
_next_prune = 0.0


@dataclass(frozen=True)
class Window:
    """A client's count in the current window of a throttle, and in the window before it."""

    rate: Rate
    number: int
    hits: int
    previous_hits: int
    # How far into the window "now" is, from 0 (its start) to 1 (its end).
    elapsed: float

    @property
    def estimate(self) -> int:
        """Requests in the last ``rate.seconds`` seconds, as the sliding-window approximation sees them."""
        carried = math.ceil(self.previous_hits * (1 - self.elapsed) - _EPSILON)
        return self.hits + max(carried, 0)

    @property
    def over(self) -> bool:
        """More requests than the rate allows, counting the one just counted."""
        return self.estimate > self.rate.count

    @property
    def full(self) -> bool:
        """As many requests as the rate allows: one more would be over."""
        return self.estimate >= self.rate.count

    def seconds_until_allowed(self) -> int:
        """Whole seconds until one more request fits within the rate, if nobody else sends any.

        ``hits`` are the requests served so far in this window, not counting the one to come.
        """
        limit, period = self.rate
        if self.hits + 1 <= limit:
            # Later in this window: the previous window's share must fall to what is left.
            needed = 1 - (limit - self.hits - 1) / self.previous_hits if self.previous_hits else 0.0
            wait = (needed - self.elapsed) * period
        else:
            # In the next window, where this window's count is the one that fades.
            needed = 1 - (limit - 1) / self.hits
            wait = (1 - self.elapsed + needed) * period
        return max(1, math.ceil(wait - _EPSILON))


def _position(rate: Rate, now: float | None) -> tuple[int, float, datetime]:
    now = time.time() if now is None else now
    number = int(now // rate.seconds)
    elapsed = (now - number * rate.seconds) / rate.seconds
    # Of use as this window, then as the previous one: gone after the next window ends.
    expires_at = datetime.fromtimestamp((number + 2) * rate.seconds, tz=UTC)
    return number, elapsed, expires_at


def count_request(*, key: str, rate: Rate, now: float | None = None) -> Window:
    """Count one request of ``key`` in its current window; answer the window, this request included."""
    number, elapsed, expires_at = _position(rate, now)
    expires = connection.ops.adapt_datetimefield_value(expires_at)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_UPSERT_AND_PREVIOUS, [key, number, expires, key, number - 1])
            hits, previous_hits = cursor.fetchone()
        else:
            # SQLite (``make run``), one process: no data-modifying WITH, so two statements.
            cursor.execute(_UPSERT, [key, number, expires])
            (hits,) = cursor.fetchone()
            cursor.execute(_HITS, [key, number - 1])
            row = cursor.fetchone()
            previous_hits = row[0] if row else 0
    _prune_now_and_then(now)
    return Window(rate, number, hits, previous_hits or 0, elapsed)


def uncount_request(window: Window, *, key: str) -> Window:
    """Take back a request counted in ``window`` (it was refused, so it was not served)."""
    ThrottleCount.objects.filter(key=key, window_number=window.number).update(hits=F("hits") - 1)
    return replace(window, hits=window.hits - 1)


def current_window(*, key: str, rate: Rate, now: float | None = None) -> Window:
    """Read ``key``'s counts in its current and previous windows, counting nothing."""
    number, elapsed, _ = _position(rate, now)
    counts = dict(
        ThrottleCount.objects.filter(key=key, window_number__in=(number - 1, number)).values_list(
            "window_number", "hits"
        )
    )
    return Window(rate, number, counts.get(number, 0), counts.get(number - 1, 0), elapsed)


@dataclass(frozen=True)
class WindowReading:
    """A read of ``key``'s current and previous windows made inside another statement: no round trip
    of its own.

    ``annotations()`` go on that statement's queryset; ``window(row)`` takes them back from a row it
    answered. Both place the window at the same moment, ``now``.
    """

    key: str
    rate: Rate
    now: float = field(default_factory=time.time)

    def annotations(self) -> dict[str, RawSQL]:
        number, _, _ = _position(self.rate, self.now)
        return {
            "throttle_hits": _hits_in(self.key, number),
            "throttle_previous_hits": _hits_in(self.key, number - 1),
        }

    def window(self, row: Any) -> Window:
        number, elapsed, _ = _position(self.rate, self.now)
        return Window(self.rate, number, row.throttle_hits or 0, row.throttle_previous_hits or 0, elapsed)


def _hits_in(key: str, number: int) -> RawSQL:
    # At most one row (the primary key); none reads as NULL. Raw SQL (the table's name and query
    # parameters only): built and compiled at every API call, a Subquery over a queryset costs more
    # CPU than the round trip that reading along saves.
    return RawSQL(_HITS, [key, number], output_field=PositiveIntegerField())  # noqa: S611


def prune_expired(now: float | None = None) -> int:
    """Delete the windows no throttle needs any more; answer how many."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    deleted, _ = ThrottleCount.objects.filter(expires_at__lt=moment).delete()
    return deleted


def _prune_now_and_then(now: float | None) -> None:
    global _next_prune
    moment = time.monotonic()
    with _prune_lock:
        if moment < _next_prune:
            return
        _next_prune = moment + PRUNE_INTERVAL_SECONDS
    prune_expired(now)
