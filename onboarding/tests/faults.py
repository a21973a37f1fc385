"""Failure injection for onboarding runs, shared by every test that needs a run to fail or stall.

Only a step of ``onboarding.steps.STEPS`` is replaced: the replacement receives the real step's ``run``
and usually calls it (so the run has written rows that must roll back) before failing or stalling as a
broken or overloaded database would. Loaded as a pytest plugin by the root ``conftest.py``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from onboarding import steps

StepRun = Callable[[steps.Workspace], int]


@dataclass(frozen=True)
class _InjectedStep(steps.Step):
    fault: Callable[[StepRun, steps.Workspace], int] | None = None

    def run(self, workspace: steps.Workspace) -> int:
        return self.fault(super().run, workspace)


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
