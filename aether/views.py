"""The home page: a landing page for visitors, the dashboard for signed-in users."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.selectors import personal_space_of
from notebooks.selectors import agents_in_space, notebooks_with_documents
from onboarding.selectors import onboarding_state_of


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "landing.html")
    space = personal_space_of(request.user)
    context = {
        "space": space,
        "notebooks": notebooks_with_documents(space) if space else [],
        "agents": agents_in_space(space) if space else [],
        "onboarding": onboarding_state_of(request.user),
    }
    return render(request, "dashboard.html", context)
