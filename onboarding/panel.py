"""What the dashboard's onboarding panel tells a user, in their words rather than the log's.

A completed onboarding is news for a few days, in the personal space it set up, until the user
dismisses it; a failure, a stalled run or a missing set-up is shown in every space until it is
resolved, with what to do about it. Error texts and exception names stay in the run record for
staff: the panel never shows them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Space, User
from onboarding.models import OnboardingRun, OnboardingStatus, UserOnboarding
from onboarding.selectors import onboarding_last_completed_run, onboarding_last_run, onboarding_state_of
from onboarding.steps import step_named

# How long the dashboard mentions a completed onboarding.
COMPLETED_NOTICE_DAYS = 7
# From this many failed attempts on, the panel says who else can help.
REPEATED_FAILURES = 2

# Each step says what the user is missing when it failed (``Step.failure_sentence``); a run that failed
# before its first step says this.
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
    step = step_named(run.failed_step)
    sentence = step.failure_sentence if step else GENERIC_SENTENCE
    if run.timed_out:
        sentence = f"{sentence} It took too long, so we stopped and undid it."
    return sentence


@dataclass(frozen=True)
class OnboardingPanel:
    status: str
    status_label: str
    visible: bool = True
    completed_at: datetime | None = None
    duration: str = ""
    failed_step: str = ""
    sentence: str = ""
    timed_out: bool = False
    attempts: int = 0
    stalled: bool = False

    @property
    def can_retry(self) -> bool:
        # A run still "running" after the timeout was killed: nothing else will ever finish it.
        return self.stalled or self.status in {OnboardingStatus.FAILED, OnboardingStatus.NOT_STARTED}

    @property
    def repeated_failures(self) -> bool:
        return self.status == OnboardingStatus.FAILED and self.attempts >= REPEATED_FAILURES


def _completed_notice_due(state: UserOnboarding, user: User, space: Space | None) -> bool:
    """A completed onboarding is mentioned in the personal space it set up, for the first days,
    until the user dismisses it."""
    in_personal_space = space is not None and space.is_personal and space.owner_id == user.pk
    if not in_personal_space or state.completed_at is None:
        return False
    if state.notice_dismissed_at is not None and state.notice_dismissed_at >= state.completed_at:
        return False
    return timezone.now() - state.completed_at < timedelta(days=COMPLETED_NOTICE_DAYS)


def onboarding_panel_of(user: User, *, space: Space | None = None) -> OnboardingPanel:
    """The panel for ``user`` on the dashboard of ``space``: how onboarding went, and what to do."""
    state = onboarding_state_of(user)
    panel = {"status": state.status, "status_label": state.get_status_display(), "attempts": state.attempts}
    if state.status == OnboardingStatus.COMPLETED:
        if not _completed_notice_due(state, user, space):
            return OnboardingPanel(**panel, visible=False)
        completing = onboarding_last_completed_run(user)
        return OnboardingPanel(
            **panel,
            completed_at=state.completed_at,
            duration=duration_text(completing.duration_ms if completing else None),
        )
    if state.status == OnboardingStatus.FAILED:
        run = onboarding_last_run(user, with_steps=False)
        if run is None:
            return OnboardingPanel(**panel, sentence=GENERIC_SENTENCE)
        return OnboardingPanel(
            **panel, failed_step=run.failed_step, sentence=failure_sentence(run), timed_out=run.timed_out
        )
    if state.status == OnboardingStatus.RUNNING:
        timeout = timedelta(seconds=settings.ONBOARDING_TIMEOUT_SECONDS)
        return OnboardingPanel(**panel, stalled=state.updated_at < timezone.now() - timeout)
    return OnboardingPanel(**panel)


def onboarding_notice_dismiss(*, user: User) -> None:
    """Stop mentioning the user's completed onboarding on the dashboard."""
    UserOnboarding.objects.filter(user=user, status=OnboardingStatus.COMPLETED).update(
        notice_dismissed_at=timezone.now()
    )
