"""Reads of notebooks, documents and agents."""

from django.db.models import Count, Prefetch, QuerySet

from accounts.models import Space
from notebooks.models import Agent, Document, Notebook


def notebooks_with_documents(space: Space) -> QuerySet[Notebook]:
    """The space's notebooks, newest first, with their documents (without contents) prefetched."""
    documents = Document.objects.only("id", "notebook_id", "name", "mime_type", "size_bytes", "created_at")
    return (
        Notebook.objects.filter(space=space)
        .annotate(document_count=Count("documents"))
        .prefetch_related(Prefetch("documents", queryset=documents.order_by("created_at", "name")))
        .order_by("-updated_at")
    )


def agents_in_space(space: Space) -> QuerySet[Agent]:
    return Agent.objects.filter(space=space).prefetch_related("knowledge_notebooks").order_by("name")
