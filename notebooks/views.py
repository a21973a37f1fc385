"""Pages of notebooks, documents and agents.

Access follows the API's rules: objects are looked up together with the caller's membership of their
space (``notebooks.selectors.*_for_member``), so not a member -> 404 (nobody learns what exists
elsewhere); a viewer trying to change something -> 403.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Membership
from accounts.selectors import membership_in
from notebooks import selectors, services
from notebooks.forms import DocumentUploadForm, NotebookForm, add_service_errors
from notebooks.models import Document, Notebook


def _membership(request: HttpRequest, space_id: object, *, write: bool = False) -> Membership:
    membership = membership_in(request.user, space_id)
    if membership is None:
        raise Http404("Not found.")
    return _checked(membership, write=write)


def _checked(membership: Membership, *, write: bool) -> Membership:
    if write and not membership.can_write:
        raise PermissionDenied("Viewers cannot change this space.")
    return membership


def _space_url(membership: Membership) -> str:
    return reverse("space-dashboard", args=[membership.space_id])


def _notebook(request: HttpRequest, notebook_id: str, *, write: bool = False) -> tuple[Notebook, Membership]:
    found = selectors.notebook_for_member(request.user, notebook_id)
    if found is None:
        raise Http404("Not found.")
    return found[0], _checked(found[1], write=write)


def _document(
    request: HttpRequest, document_id: str, *, write: bool = False, with_content: bool = False
) -> tuple[Document, Membership]:
    found = selectors.document_for_member(request.user, document_id, with_content=with_content)
    if found is None:
        raise Http404("Not found.")
    return found[0], _checked(found[1], write=write)


@login_required
@require_http_methods(["GET", "POST"])
def notebook_create(request: HttpRequest, space_id: str) -> HttpResponse:
    membership = _membership(request, space_id, write=True)
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
    )


@login_required
def notebook_detail(request: HttpRequest, notebook_id: str) -> HttpResponse:
    notebook, membership = _notebook(request, notebook_id)
    return _render_notebook(request, notebook, membership, DocumentUploadForm())


def _render_notebook(
    request: HttpRequest, notebook: Notebook, membership: Membership, upload_form: DocumentUploadForm
) -> HttpResponse:
    context = {
        "notebook": notebook,
        "documents": selectors.documents_of(notebook),
        "membership": membership,
        "space": membership.space,
        "upload_form": upload_form,
    }
    return render(
        request, "notebooks/notebook_detail.html", context, status=400 if upload_form.errors else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def notebook_edit(request: HttpRequest, notebook_id: str) -> HttpResponse:
    notebook, membership = _notebook(request, notebook_id, write=True)
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
    return render(request, "notebooks/notebook_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def notebook_delete(request: HttpRequest, notebook_id: str) -> HttpResponse:
    notebook, membership = _notebook(request, notebook_id, write=True)
    if request.method == "POST":
        name = notebook.name
        services.notebook_delete(notebook=notebook)
        messages.success(request, f"Notebook “{name}” deleted.")
        return redirect(_space_url(membership))
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
@require_POST
def document_upload(request: HttpRequest, notebook_id: str) -> HttpResponse:
    notebook, membership = _notebook(request, notebook_id, write=True)
    form = DocumentUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            document = services.document_create_from_upload(
                notebook=notebook, upload=form.cleaned_data["file"], name=form.cleaned_data["name"]
            )
        except services.DocumentTooLarge as error:
            form.add_error(
                "file",
                f"The file is {filesizeformat(error.size)}; the limit is {filesizeformat(error.limit)}.",
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Document “{document.name}” uploaded.")
            return redirect(notebook)
    return _render_notebook(request, notebook, membership, form)


@login_required
def document_detail(request: HttpRequest, document_id: str) -> HttpResponse:
    document, membership = _document(request, document_id, with_content=True)
    context = {
        "document": document,
        "notebook": document.notebook,
        "text": document.read_text(),
        # JSON's spelling (true, null, [..]) rather than Python's, as the API shows the same values.
        "metadata": [
            (key, value if isinstance(value, str) else json.dumps(value))
            for key, value in document.metadata.items()
        ],
        "membership": membership,
        "space": membership.space,
    }
    return render(request, "notebooks/document_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def document_delete(request: HttpRequest, document_id: str) -> HttpResponse:
    document, membership = _document(request, document_id, write=True)
    notebook = document.notebook
    if request.method == "POST":
        name = document.name
        services.document_delete(document=document)
        messages.success(request, f"Document “{name}” deleted.")
        return redirect(notebook)
    context = {
        "object": document,
        "space": membership.space,
        "kind": "document",
        "consequence": f"It will be removed from “{notebook.name}”.",
        "cancel_url": document.get_absolute_url(),
    }
    return render(request, "notebooks/confirm_delete.html", context)


@login_required
def agent_detail(request: HttpRequest, agent_id: str) -> HttpResponse:
    found = selectors.agent_for_member(request.user, agent_id)
    if found is None:
        raise Http404("Not found.")
    agent, membership = found
    context = {
        "agent": agent,
        "knowledge": agent.knowledge_notebooks.order_by("name"),
        "membership": membership,
        "space": membership.space,
    }
    return render(request, "notebooks/agent_detail.html", context)
