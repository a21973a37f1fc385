"""The home page, each space's dashboard, and the header's space switcher.

Visitors get the landing page; signed-in users the dashboard of their current space.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.current_space import remember_space, session_membership
from accounts.models import Membership
from accounts.selectors import membership_in
from aether.forms import SpaceSwitchForm
from notebooks.selectors import agents_in_space, notebooks_with_documents
from onboarding.panel import onboarding_panel_of


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "landing.html")
    return _dashboard(request, session_membership(request))


@login_required
def space_dashboard(request: HttpRequest, space_id: str) -> HttpResponse:
    """A space's dashboard at its own address; visiting it makes that space the current one."""
    membership = membership_in(request.user, space_id)
    if membership is None:
        raise Http404("No such space.")
    remember_space(request, membership)
    return _dashboard(request, membership)


@require_POST
@login_required
def space_switch(request: HttpRequest) -> HttpResponse:
    """Make another of the user's spaces the current one and show its dashboard."""
    form = SpaceSwitchForm(request.POST)
    membership = membership_in(request.user, form.cleaned_data["space"]) if form.is_valid() else None
    if membership is None:
        raise Http404("No such space.")
    remember_space(request, membership)
    return redirect("home")


def _dashboard(request: HttpRequest, membership: Membership | None) -> HttpResponse:
    space = membership.space if membership else None
    context = {
        "membership": membership,
        "space": space,
        "notebooks": notebooks_with_documents(space) if space else [],
        "agents": agents_in_space(space) if space else [],
        "onboarding": onboarding_panel_of(request.user),
    }
    return render(request, "dashboard.html", context)
