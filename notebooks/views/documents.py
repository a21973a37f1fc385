"""Document pages: upload into a notebook, read, rename, delete."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Membership
from aether.forms import add_service_errors
from notebooks import selectors, services
from notebooks.display import metadata_in_words
from notebooks.forms import DocumentRenameForm, DocumentUploadForm
from notebooks.models import Notebook
from notebooks.sizes import size_text
from notebooks.uploads import UploadTooLarge
from notebooks.views.access import document_or_404, notebook_or_404


def render_notebook(
    request: HttpRequest,
    notebook: Notebook,
    membership: Membership,
    upload_form: DocumentUploadForm,
    *,
    status: int = 200,
) -> HttpResponse:
    """The notebook's page: its documents and, for those who may write, the upload form."""
    context = {
        "notebook": notebook,
        "documents": selectors.documents_of(notebook),
        "membership": membership,
        "space": membership.space,
        "upload_form": upload_form,
    }
    return render(request, "notebooks/notebook_detail.html", context, status=status)


# The body is read here, not by the CSRF middleware: an upload too large to read is answered on the
# form (changing nothing, so no token is needed for it); every other one passes csrf_protect first.
@csrf_exempt
@login_required
@require_POST
def document_upload(request: HttpRequest, notebook_id: str) -> HttpResponse:
    notebook, membership = notebook_or_404(request.user, notebook_id, write=True)
    try:
        request.FILES  # noqa: B018 - reads the body through the upload handlers
    except UploadTooLarge as refused:
        form = DocumentUploadForm.refused(str(refused))
        return render_notebook(request, notebook, membership, form, status=413)
    return _store_upload(request, notebook, membership)


@csrf_protect
def _store_upload(request: HttpRequest, notebook: Notebook, membership: Membership) -> HttpResponse:
    form = DocumentUploadForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        try:
            document = services.document_create_from_upload(
                notebook=notebook, upload=form.cleaned_data["file"], name=form.cleaned_data["name"]
            )
        except services.DocumentTooLarge as error:
            form.add_error(
                "file", f"The file is {size_text(error.size)}; the limit is {size_text(error.limit)}."
            )
            status = 413
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Document “{document.name}” uploaded.")
            return redirect(notebook)
    return render_notebook(request, notebook, membership, form, status=status)


@login_required
def document_detail(request: HttpRequest, document_id: str) -> HttpResponse:
    document, membership = document_or_404(request.user, document_id, with_content=True)
    context = {
        "document": document,
        "notebook": document.notebook,
        "text": document.read_text(),
        "metadata": metadata_in_words(document.metadata),
        "membership": membership,
        "space": membership.space,
    }
    return render(request, "notebooks/document_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def document_rename(request: HttpRequest, document_id: str) -> HttpResponse:
    """Rename a document; its text is neither read nor rewritten."""
    document, membership = document_or_404(request.user, document_id, write=True)
    stored_name = document.name
    if request.method == "POST":
        form = DocumentRenameForm(request.POST)
    else:
        form = DocumentRenameForm(initial={"name": document.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.document_update(document=document, name=form.cleaned_data["name"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Document renamed to “{document.name}”.")
            return redirect(document)
    context = {
        "form": form,
        "document": document,
        "stored_name": stored_name,
        "notebook": document.notebook,
        "membership": membership,
        "space": membership.space,
    }
    return render(request, "notebooks/document_rename.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def document_delete(request: HttpRequest, document_id: str) -> HttpResponse:
    document, membership = document_or_404(request.user, document_id, write=True)
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
