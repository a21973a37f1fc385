"""Notebook pages: create, read, edit, delete, and search a space's notebooks."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts.page_access import membership_or_404
from aether.forms import add_service_errors
from aether.paging import list_page, page_number
from notebooks import selectors, services
from notebooks.forms import DocumentUploadForm, NotebookForm, NotebookSearchForm
from notebooks.views.access import notebook_or_404
from notebooks.views.documents import render_notebook

# Search results per page, as many as an API page.
SEARCH_PAGE_SIZE = 50


@login_required
@require_http_methods(["GET", "POST"])
def notebook_create(request: HttpRequest, space_id: str) -> HttpResponse:
    membership = membership_or_404(request.user, space_id, write=True)
    form = NotebookForm(request.POST) if request.method == "POST" else NotebookForm()
    if request.method == "POST" and form.is_valid():
        try:
            notebook = services.notebook_create(
                space=membership.space, owner=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Notebook “{notebook.name}” created.")
            return redirect(notebook)
    return render(
        request,
        "notebooks/notebook_form.html",
        {"form": form, "membership": membership, "space": membership.space},
        status=400 if form.errors else 200,
    )


@login_required
def notebook_detail(request: HttpRequest, notebook_id: str) -> HttpResponse:
    notebook, membership = notebook_or_404(request.user, notebook_id)
    return render_notebook(request, notebook, membership, DocumentUploadForm())


@login_required
@require_http_methods(["GET", "POST"])
def notebook_edit(request: HttpRequest, notebook_id: str) -> HttpResponse:
    notebook, membership = notebook_or_404(request.user, notebook_id, write=True)
    form = NotebookForm(request.POST) if request.method == "POST" else NotebookForm.for_notebook(notebook)
    if request.method == "POST" and form.is_valid():
        try:
            services.notebook_update(notebook=notebook, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
            # The refused values stay in the form; the title and breadcrumbs show what is stored.
            notebook.refresh_from_db()
        else:
            messages.success(request, "Notebook saved.")
            return redirect(notebook)
    context = {"form": form, "notebook": notebook, "membership": membership, "space": membership.space}
    return render(request, "notebooks/notebook_form.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def notebook_delete(request: HttpRequest, notebook_id: str) -> HttpResponse:
    notebook, membership = notebook_or_404(request.user, notebook_id, write=True)
    if request.method == "POST":
        name = notebook.name
        services.notebook_delete(notebook=notebook)
        messages.success(request, f"Notebook “{name}” deleted.")
        return redirect(reverse("space-dashboard", args=[membership.space_id]))
    count = notebook.documents.count()
    context = {
        "object": notebook,
        "space": membership.space,
        "kind": "notebook",
        "consequence": f"Its {count} document{'s' if count != 1 else ''} will be deleted too."
        if count
        else "It has no documents.",
        "cancel_url": notebook.get_absolute_url(),
    }
    return render(request, "notebooks/confirm_delete.html", context)


@login_required
@require_GET
def notebook_search(request: HttpRequest, space_id: str) -> HttpResponse:
    """The space's notebooks whose name, description or a tag contains the query, ignoring case."""
    membership = membership_or_404(request.user, space_id)
    # Opened without a query: the empty box, not an error.
    form = NotebookSearchForm(request.GET) if "query" in request.GET else NotebookSearchForm()
    results = None
    if form.is_valid():
        found = selectors.notebook_search(membership.space, form.cleaned_data["query"])
        results = list_page(found, number=page_number(request), size=SEARCH_PAGE_SIZE)
    context = {"form": form, "results": results, "membership": membership, "space": membership.space}
    return render(request, "notebooks/notebook_search.html", context, status=400 if form.errors else 200)
