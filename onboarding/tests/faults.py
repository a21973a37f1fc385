"""Failure injection for onboarding runs, shared by every test that needs a run to fail or stall.

Only the step table of ``onboarding.services`` is replaced: the replacement receives the real step and
usually runs it (so the run has written rows that must roll back) before failing or stalling as a
broken or overloaded database would. Loaded as a pytest plugin by the root ``conftest.py``.
"""

from collections.abc import Callable
from typing import Any

import pytest

from onboarding import services

Step = Callable[[Any], int]


def replace_onboarding_step(
    monkeypatch: pytest.MonkeyPatch, name: str, step: Callable[[Step, Any], int]
) -> None:
    """Run ``step(real_step, ctx)`` in place of the onboarding step called ``name``."""
    steps = dict(services.STEPS)
    real = steps[name]
    steps[name] = lambda ctx: step(real, ctx)
    monkeypatch.setattr(services, "STEPS", tuple(steps.items()))


@pytest.fixture
def fail_step(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``fail_step(name, error=None)``: the step does its real work, then raises ``error``."""

    def inject(name: str, error: BaseException | None = None) -> None:
        def failing(real: Step, ctx: Any) -> int:
            real(ctx)
            raise error or RuntimeError(f"injected failure in {name}")

        replace_onboarding_step(monkeypatch, name, failing)

    return inject
