"""The dashboard onboarding panel's buttons: "Try again" and "Dismiss"."""

import math

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from aether.throttling.throttles import onboarding_retry_wait
from onboarding.models import OnboardingRun
from onboarding.panel import failure_sentence, onboarding_notice_dismiss
from onboarding.services import onboard_user


@require_POST
@login_required
def onboarding_retry(request: HttpRequest) -> HttpResponse:
    """Run the user's onboarding again (creating only what is missing) and say how it went.

    Each press is a forced run: at most ``ONBOARDING_RETRY_THROTTLE`` of them per user, together with
    the API's retries.
    """
    wait = onboarding_retry_wait(user=request.user)
    if wait is not None:
        messages.error(
            request, f"You have tried again several times just now. Try again in {_duration(wait)}."
        )
        return redirect("home")
    run = onboard_user(user=request.user, trigger=OnboardingRun.Trigger.RETRY, actor=request.user, force=True)
    if run.status == OnboardingRun.Status.COMPLETED:
        messages.success(request, "Your workspace is ready.")
    else:
        messages.error(request, f"Setting up your workspace failed again. {failure_sentence(run)}")
    return redirect("home")


def _duration(seconds: int) -> str:
    """Seconds as a person reads a wait, rounded up: "40 seconds", "2 minutes", "3 hours"."""
    for unit, length in (("hour", 3600), ("minute", 60)):
        if seconds >= 2 * length:
            count = math.ceil(seconds / length)
            return f"{count} {unit}s"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


@require_POST
@login_required
def onboarding_dismiss(request: HttpRequest) -> HttpResponse:
    """Hide the note that the user's workspace is ready."""
    onboarding_notice_dismiss(user=request.user)
    return redirect("home")
