"""Interleavings of two database connections that a test controls, for races between requests.

``in_another_connection(work)`` runs ``work`` on a connection of its own (a thread), committed before
it returns: another request that finished in between. ``after(module, name, work)`` makes the function
``module.name`` run ``work`` that way right after it returns, e.g. between a view's read and its
service's write. ``Held`` keeps another connection's transaction open, its locks held, until the test
lets it commit; ``Call`` is a concurrent request; ``wait_until_blocked`` waits until some connection
waits for a lock, ``poll_for_row`` until a query answers a row.
"""

import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import connection, transaction


def in_another_connection(work: Callable[[], Any]) -> Any:
    """Run ``work`` on a connection of its own and commit; return what it returned, raise what it raised."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            with transaction.atomic():
                outcome["value"] = work()
        except BaseException as exc:  # handed to the test's thread
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the other connection did not finish"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def after(monkeypatch: Any, target: Any, name: str, work: Callable[[], Any]) -> None:
    """Once ``target.name`` returns (the first time), run ``work`` in another connection."""
    original = getattr(target, name)
    done = threading.Event()

    @wraps(original)
    def patched(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if not done.is_set():
            done.set()
            in_another_connection(work)
        return result

    monkeypatch.setattr(target, name, patched)


class Held:
    """``work`` run in a transaction of another connection that stays open, holding its locks, until
    ``commit()``; ``result`` is what ``work`` returned."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self._done, self._commit = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, args=(work,))
        self._thread.start()
        assert self._done.wait(timeout=30), "the other connection's work did not finish"
        if self.error is not None:
            raise self.error

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            with transaction.atomic():
                try:
                    self.result = work()
                finally:
                    self._done.set()
                self._commit.wait(timeout=60)
        except BaseException as exc:  # handed to the test's thread
            self.error = exc
        finally:
            self._done.set()
            connection.close()

    def commit(self) -> None:
        self._commit.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive()


class Call:
    """``work`` running in a thread of its own (a concurrent request); ``join()`` returns its result."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self._outcome: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, args=(work,))
        self._thread.start()

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            self._outcome["value"] = work()
        except BaseException as exc:  # handed to the test's thread
            self._outcome["error"] = exc
        finally:
            connection.close()

    def join(self) -> Any:
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the call did not finish"
        if "error" in self._outcome:
            raise self._outcome["error"]
        return self._outcome["value"]


def poll_for_row(query: str, *, what: str, timeout: float = 10) -> tuple:
    """The first row ``query`` answers, asked again every 10 ms until it answers one (at most
    ``timeout`` seconds, then an error saying ``what`` never happened)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(query)
            row = cursor.fetchone()
            if row:
                return row
            time.sleep(0.01)
    raise AssertionError(f"{what} within {timeout} s")


def wait_until_blocked(timeout: float = 10) -> None:
    """Return once some other connection of this database waits for a lock."""
    poll_for_row(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
        what="no connection waited for a lock",
        timeout=timeout,
    )
