"""The home page, each space's dashboard, and the header's space switcher.

Visitors get the landing page; signed-in users the dashboard of their current space.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.current_space import remember_space, session_membership
from accounts.models import Membership
from accounts.page_access import membership_or_404
from accounts.selectors import membership_in
from aether.forms import SpaceSwitchForm
from aether.paging import ListPage, list_page, page_number
from notebooks.forms import NotebookSearchForm
from notebooks.selectors import agents_in_space, notebooks_with_documents
from onboarding.panel import onboarding_panel_of

# Notebooks per dashboard page, as many as an API page.
DASHBOARD_NOTEBOOKS = 50


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "landing.html")
    return _dashboard(request, session_membership(request))


@login_required
def space_dashboard(request: HttpRequest, space_id: str) -> HttpResponse:
    """A space's dashboard at its own address; visiting it makes that space the current one."""
    membership = membership_or_404(request.user, space_id)
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
    page = ListPage(items=[], number=1, previous=None, next=None)
    if space:
        page = list_page(
            notebooks_with_documents(space), number=page_number(request), size=DASHBOARD_NOTEBOOKS
        )
    for notebook in page.items:
        notebook.more_documents = notebook.document_count - len(notebook.preview_documents)
    context = {
        "membership": membership,
        "space": space,
        "notebooks": page.items,
        "page": page,
        "agents": agents_in_space(space) if space else [],
        "search_form": NotebookSearchForm(),
        "onboarding": onboarding_panel_of(request.user, space=space),
    }
    return render(request, "dashboard.html", context)
