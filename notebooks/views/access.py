"""Objects of the pages, found only through the caller's membership of their space."""

from django.http import Http404

from accounts.models import Membership, User
from accounts.page_access import NOT_FOUND, require_write
from notebooks import selectors
from notebooks.models import Agent, Document, Notebook


def _checked(found: tuple | None, *, write: bool) -> tuple:
    if found is None:
        raise Http404(NOT_FOUND)
    obj, membership = found
    return obj, require_write(membership) if write else membership


def notebook_or_404(user: User, notebook_id: str, *, write: bool = False) -> tuple[Notebook, Membership]:
    return _checked(selectors.notebook_for_member(user, notebook_id), write=write)


def document_or_404(
    user: User, document_id: str, *, write: bool = False, with_content: bool = False
) -> tuple[Document, Membership]:
    found = selectors.document_for_member(user, document_id, with_content=with_content)
    return _checked(found, write=write)


def agent_or_404(user: User, agent_id: str, *, write: bool = False) -> tuple[Agent, Membership]:
    return _checked(selectors.agent_for_member(user, agent_id), write=write)
