"""What the dashboard's onboarding panel tells a user, in their words rather than the log's."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from onboarding.models import OnboardingRun, OnboardingStatus, OnboardingStep
from onboarding.selectors import onboarding_last_completed_run, onboarding_last_run, onboarding_state_of

# One sentence per step, saying what the user is missing when that step failed.
STEP_SENTENCES = {
    "personal_space": "We could not create your personal space.",
    "notebook": "We could not create your “Getting Started” notebook.",
    "documents": "We could not add the sample guides to your “Getting Started” notebook.",
    "agent": "We could not set up your “Personal Assistant” agent.",
}
GENERIC_SENTENCE = "We could not finish setting up your workspace."


def duration_text(milliseconds: int | None) -> str:
    """``850 ms``, ``1.3 s``: short enough to read at a glance."""
    if milliseconds is None:
        return ""
    if milliseconds < 1000:
        return f"{milliseconds} ms"
    return f"{milliseconds / 1000:.1f} s"


def failure_sentence(run: OnboardingRun) -> str:
    """What a failed run means for the user: the missing resource, and whether it ran out of time."""
    sentence = STEP_SENTENCES.get(run.failed_step, GENERIC_SENTENCE)
    if run.timed_out:
        sentence = f"{sentence} It took too long, so we stopped and undid it."
    return sentence


@dataclass(frozen=True)
class OnboardingPanel:
    status: str
    status_label: str
    completed_at: datetime | None = None
    duration: str = ""
    failed_step: str = ""
    failed_step_label: str = ""
    sentence: str = ""
    detail: str = ""
    timed_out: bool = False
    attempts: int = 0
    stalled: bool = False

    @property
    def can_retry(self) -> bool:
        # A run still "running" after the timeout was killed: nothing else will ever finish it.
        return self.stalled or self.status in {OnboardingStatus.FAILED, OnboardingStatus.NOT_STARTED}


def onboarding_panel_of(user: User) -> OnboardingPanel:
    """The panel for ``user``: when and how fast onboarding completed, or what failed and why."""
    state = onboarding_state_of(user)
    run = onboarding_last_run(user, with_steps=False)
    panel = {"status": state.status, "status_label": state.get_status_display(), "attempts": state.attempts}
    if state.status == OnboardingStatus.COMPLETED:
        completing = run if run is not None and run.status == OnboardingRun.Status.COMPLETED else None
        completing = completing or onboarding_last_completed_run(user)
        return OnboardingPanel(
            **panel,
            completed_at=state.completed_at,
            duration=duration_text(completing.duration_ms if completing else None),
        )
    if state.status == OnboardingStatus.FAILED and run is not None:
        error = run.error or state.last_error
        return OnboardingPanel(
            **panel,
            failed_step=run.failed_step,
            failed_step_label=OnboardingStep.Name(run.failed_step).label if run.failed_step else "",
            sentence=failure_sentence(run),
            detail=error,
            timed_out=run.timed_out,
        )
    if state.status == OnboardingStatus.RUNNING:
        timeout = timedelta(seconds=settings.ONBOARDING_TIMEOUT_SECONDS)
        return OnboardingPanel(**panel, stalled=state.updated_at < timezone.now() - timeout)
    return OnboardingPanel(**panel)
