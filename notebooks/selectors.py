"""Reads of notebooks, documents and agents.

Objects are reached only through a space the caller belongs to, so an object of another space is
never found (and both callers answer 404, as for an object that does not exist):

* the API works in the request's space (``accounts.api.scoping``) and looks objects up within it
  (``*_in_space``);
* the pages address objects by id alone and look them up together with the caller's membership of
  their space (``*_for_member``), which then decides what the caller may do there.
"""

import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.db.models import Count, IntegerField, Model, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import Membership, Space, User
from accounts.selectors import membership_in
from notebooks.models import Agent, Document, Notebook

M = TypeVar("M", bound=Model)

# Documents the dashboard lists under each notebook; the rest are counted ("and 3 more").
DASHBOARD_DOCUMENTS = 5
# Listing columns: a document's text can be megabytes and no list shows it.
DOCUMENT_LIST_FIELDS = ("id", "notebook_id", "name", "mime_type", "size_bytes", "metadata", "created_at")


def _document_count() -> Coalesce:
    # A correlated subquery rather than a JOIN + GROUP BY: with ORDER BY … LIMIT, PostgreSQL
    # evaluates it for the page's rows only.
    counts = (
        Document.objects.filter(notebook=OuterRef("pk"))
        .order_by()
        .values("notebook")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def notebooks_with_documents(space: Space) -> QuerySet[Notebook]:
    """The space's notebooks, newest first, with their document counts and their first
    ``DASHBOARD_DOCUMENTS`` documents (without contents) in ``preview_documents``.

    The prefetch is sliced per notebook (a window function), so a notebook of thousands of
    documents costs the dashboard no more than one of five.
    """
    documents = Document.objects.only("id", "notebook_id", "name", "mime_type", "size_bytes", "created_at")
    preview = documents.order_by("created_at", "name")[:DASHBOARD_DOCUMENTS]
    return (
        Notebook.objects.filter(space=space)
        .defer("search_text")
        .annotate(document_count=_document_count())
        .prefetch_related(Prefetch("documents", queryset=preview, to_attr="preview_documents"))
        .order_by("-updated_at", "pk")
    )


def notebooks_in_space(space: Space) -> QuerySet[Notebook]:
    """The space's notebooks with their document counts, most recently changed first."""
    return (
        Notebook.objects.filter(space=space)
        .defer("search_text")
        .annotate(document_count=_document_count())
        .order_by("-updated_at", "pk")
    )


def notebook_search(space: Space, query: str) -> QuerySet[Notebook]:
    """The space's notebooks whose name, description or a tag contains ``query``, ignoring case.

    ``search_text`` holds them lower-cased (``Notebook.save``); on PostgreSQL its trigram GIN index
    serves this ``LIKE '%…%'``.
    """
    return notebooks_in_space(space).filter(search_text__contains=query.lower())


def notebook_choices(space: Space) -> QuerySet[Notebook]:
    """The space's notebooks by name, id and name only: what an agent's knowledge is chosen from."""
    return Notebook.objects.filter(space=space).only("id", "name").order_by("name", "pk")


def notebook_in_space(space: Space, notebook_id: uuid.UUID) -> Notebook | None:
    return notebooks_in_space(space).filter(pk=notebook_id).first()


def notebooks_with_ids(space: Space, notebook_ids: Iterable[uuid.UUID]) -> list[Notebook]:
    """The space's notebooks among ``notebook_ids``; ids of other spaces' notebooks are left out."""
    return list(Notebook.objects.filter(space=space, pk__in=list(notebook_ids)).defer("search_text"))


def documents_of(notebook: Notebook) -> QuerySet[Document]:
    return (
        Document.objects.filter(notebook=notebook).only(*DOCUMENT_LIST_FIELDS).order_by("created_at", "name")
    )


def document_in_space(space: Space, document_id: uuid.UUID, *, with_content: bool = False) -> Document | None:
    documents = Document.objects.filter(pk=document_id, notebook__space=space).select_related("notebook")
    if not with_content:
        documents = documents.defer("content")
    return documents.first()


def agents_in_space(space: Space) -> QuerySet[Agent]:
    return (
        Agent.objects.filter(space=space)
        .prefetch_related(Prefetch("knowledge_notebooks", queryset=Notebook.objects.only("id")))
        .order_by("name", "pk")
    )


def agent_in_space(space: Space, agent_id: uuid.UUID) -> Agent | None:
    return agents_in_space(space).filter(pk=agent_id).first()


def _for_member(
    user: User,
    objects: QuerySet[M],
    object_id: uuid.UUID | str,
    space: str,
    space_id_of: Callable[[M], uuid.UUID],
) -> tuple[M, Membership] | None:
    """The object, if it is in a space ``user`` is a member of, with that membership.

    ``space`` is the lookup path from the object to its space (``"space"``, ``"notebook__space"``).
    """
    found = objects.filter(pk=object_id, **{f"{space}__memberships__user": user}).first()
    if found is None:
        return None
    membership = membership_in(user, space_id_of(found))
    # Removed between the two reads: as if the object had never been found.
    return None if membership is None else (found, membership)


def notebook_for_member(user: User, notebook_id: uuid.UUID | str) -> tuple[Notebook, Membership] | None:
    """The notebook and the caller's membership of its space; ``None`` for an outsider."""
    return _for_member(
        user, Notebook.objects.defer("search_text"), notebook_id, "space", lambda notebook: notebook.space_id
    )


def document_for_member(
    user: User, document_id: uuid.UUID | str, *, with_content: bool = False
) -> tuple[Document, Membership] | None:
    """The document (its text only if asked) with its notebook, and the caller's membership."""
    documents = Document.objects.select_related("notebook").defer("notebook__search_text")
    if not with_content:
        documents = documents.defer("content")
    return _for_member(
        user, documents, document_id, "notebook__space", lambda document: document.notebook.space_id
    )


def agent_for_member(user: User, agent_id: uuid.UUID | str) -> tuple[Agent, Membership] | None:
    """The agent and the caller's membership of its space; ``None`` for an outsider."""
    return _for_member(user, Agent.objects.all(), agent_id, "space", lambda agent: agent.space_id)
