"""Agent pages: create, read, edit and delete a space's stored agent configurations."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.models import Membership
from accounts.page_access import membership_or_404
from aether.forms import add_service_errors
from notebooks import selectors, services
from notebooks.forms import AgentForm
from notebooks.models import Agent
from notebooks.views.access import agent_or_404


def _render_form(
    request: HttpRequest, form: AgentForm, membership: Membership, agent: Agent | None = None
) -> HttpResponse:
    context = {"form": form, "agent": agent, "membership": membership, "space": membership.space}
    return render(request, "notebooks/agent_form.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def agent_create(request: HttpRequest, space_id: str) -> HttpResponse:
    membership = membership_or_404(request.user, space_id, write=True)
    notebooks = selectors.notebook_choices(membership.space)
    form = AgentForm(request.POST if request.method == "POST" else None, notebooks=notebooks)
    if request.method == "POST" and form.is_valid():
        try:
            agent = services.agent_create(space=membership.space, owner=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Agent “{agent.name}” created.")
            return redirect(agent)
    return _render_form(request, form, membership)


@login_required
def agent_detail(request: HttpRequest, agent_id: str) -> HttpResponse:
    agent, membership = agent_or_404(request.user, agent_id)
    context = {
        "agent": agent,
        "knowledge": agent.knowledge_notebooks.defer("search_text").order_by("name"),
        "membership": membership,
        "space": membership.space,
    }
    return render(request, "notebooks/agent_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def agent_edit(request: HttpRequest, agent_id: str) -> HttpResponse:
    agent, membership = agent_or_404(request.user, agent_id, write=True)
    notebooks = selectors.notebook_choices(membership.space)
    if request.method == "POST":
        form = AgentForm(request.POST, notebooks=notebooks)
    else:
        form = AgentForm.for_agent(agent, notebooks=notebooks)
    if request.method == "POST" and form.is_valid():
        try:
            services.agent_update(agent=agent, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
            # The refused values stay in the form; the title and breadcrumbs show what is stored.
            agent.refresh_from_db()
        else:
            messages.success(request, "Agent saved.")
            return redirect(agent)
    return _render_form(request, form, membership, agent)


@login_required
@require_http_methods(["GET", "POST"])
def agent_delete(request: HttpRequest, agent_id: str) -> HttpResponse:
    agent, membership = agent_or_404(request.user, agent_id, write=True)
    if request.method == "POST":
        name = agent.name
        services.agent_delete(agent=agent)
        messages.success(request, f"Agent “{name}” deleted.")
        return redirect(reverse("space-dashboard", args=[membership.space_id]))
    context = {
        "object": agent,
        "space": membership.space,
        "kind": "agent",
        "consequence": "Its settings are deleted; its knowledge notebooks and their documents stay.",
        "cancel_url": agent.get_absolute_url(),
    }
    return render(request, "notebooks/confirm_delete.html", context)
