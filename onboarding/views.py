"""The dashboard onboarding panel's buttons: "Try again" and "Dismiss"."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from onboarding.models import OnboardingRun
from onboarding.panel import failure_sentence, onboarding_notice_dismiss
from onboarding.services import onboard_user


@require_POST
@login_required
def onboarding_retry(request: HttpRequest) -> HttpResponse:
    """Run the user's onboarding again (creating only what is missing) and say how it went."""
    run = onboard_user(user=request.user, trigger=OnboardingRun.Trigger.RETRY, actor=request.user, force=True)
    if run.status == OnboardingRun.Status.COMPLETED:
        messages.success(request, "Your workspace is ready.")
    else:
        messages.error(request, f"Setting up your workspace failed again. {failure_sentence(run)}")
    return redirect("home")


@require_POST
@login_required
def onboarding_dismiss(request: HttpRequest) -> HttpResponse:
    """Hide the note that the user's workspace is ready."""
    onboarding_notice_dismiss(user=request.user)
    return redirect("home")
