"""Failure injection for onboarding runs, shared by every test that needs a run to fail or stall.

Only a step of ``onboarding.steps.STEPS`` is replaced: the replacement receives the real step's ``run``
and usually calls it (so the run has written rows that must roll back) before failing or stalling as a
broken or overloaded database would. Runs in other processes are held up in the database instead
(``stall_agent_inserts``). Loaded as a pytest plugin by the root ``conftest.py``.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from onboarding import steps

StepRun = Callable[[steps.Workspace], int]


@dataclass(frozen=True)
class _InjectedStep(steps.Step):
    fault: Callable[[StepRun, steps.Workspace], int] | None = None

    def run(self, workspace: steps.Workspace, insert: Callable[[list], None] | None = None) -> int:
        # ``insert`` passes through: a bulk run gathers the rows the real step makes.
        return self.fault(partial(super().run, insert=insert), workspace)


def replace_onboarding_step(
    monkeypatch: pytest.MonkeyPatch, name: str, fault: Callable[[StepRun, Any], int]
) -> None:
    """Run ``fault(real_run, workspace)`` in place of the onboarding step called ``name``."""
    replaced = tuple(
        _InjectedStep(step.name, step.label, step.failure_sentence, step.missing, fault=fault)
        if step.name == name
        else step
        for step in steps.STEPS
    )
    monkeypatch.setattr(steps, "STEPS", replaced)


@pytest.fixture
def fail_step(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``fail_step(name, error=None)``: the step does its real work, then raises ``error``."""

    def inject(name: str, error: BaseException | None = None) -> None:
        def failing(real: StepRun, workspace: Any) -> int:
            real(workspace)
            raise error or RuntimeError(f"injected failure in {name}")

        replace_onboarding_step(monkeypatch, name, failing)

    return inject


class AgentInsertStall:
    """Agents' inserts sleep in PostgreSQL for ``seconds`` (0: not at all), whichever process makes them.

    For runs in other processes (gunicorn's workers), which no patch in this one reaches: the stall is a
    trigger on ``notebooks_agent``, so the run is held at its last step with its space, notebook and
    documents written but not committed, for as long as the test says.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def set(self, seconds: float) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("UPDATE test_agent_insert_stall SET seconds = %s", [seconds])

    def wait_until_stalled(self, timeout: float = 30) -> None:
        """Return once some run of this database sleeps in the trigger."""
        deadline = time.monotonic() + timeout
        with self.connection.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event = 'PgSleep'"
                )
                if cursor.fetchone()[0]:
                    return
                time.sleep(0.05)
        raise AssertionError(f"no onboarding run reached its agent step within {timeout} s")


@pytest.fixture
def stall_agent_inserts(transactional_db) -> Iterator[AgentInsertStall]:
    """An ``AgentInsertStall``, not stalling until ``set()``; removed after the test. PostgreSQL only."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TABLE test_agent_insert_stall (seconds float NOT NULL);
            INSERT INTO test_agent_insert_stall VALUES (0);
            CREATE FUNCTION test_agent_insert_stall() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_sleep(seconds) FROM test_agent_insert_stall WHERE seconds > 0;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_agent_insert_stall BEFORE INSERT ON notebooks_agent
                FOR EACH ROW EXECUTE FUNCTION test_agent_insert_stall();
            """
        )
    yield AgentInsertStall(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER test_agent_insert_stall ON notebooks_agent;"
            " DROP FUNCTION test_agent_insert_stall(); DROP TABLE test_agent_insert_stall;"
        )
