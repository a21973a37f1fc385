import pytest

from onboarding import services


@pytest.fixture
def fail_step(monkeypatch):
    """Make one onboarding step fail after doing its real work.

    Failure injection: the step's own code runs (so it has written rows the run must roll back),
    then raises as a broken database or bug would. Nothing else is replaced.
    """

    def inject(step_name: str, error: Exception | None = None) -> None:
        steps = dict(services.STEPS)
        real_step = steps[step_name]

        def failing(ctx):
            real_step(ctx)
            raise error or RuntimeError(f"injected failure in {step_name}")

        steps[step_name] = failing
        monkeypatch.setattr(services, "STEPS", tuple(steps.items()))

    return inject
