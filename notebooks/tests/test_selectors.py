"""The pages' lookups: an object together with the caller's membership of its space."""

import pytest

from accounts.models import Membership
from accounts.services import membership_add, space_create_organization
from notebooks.selectors import agent_for_member, document_for_member, notebook_for_member
from notebooks.services import agent_create, document_create, notebook_create

pytestmark = pytest.mark.django_db


def test_objects_come_with_the_callers_membership_and_never_to_outsiders(make_user):
    owner, viewer, outsider = make_user(), make_user(), make_user()
    acme = space_create_organization(owner=owner, name="Acme")
    membership_add(space=acme, user=viewer, role=Membership.Role.VIEWER)
    notebook = notebook_create(space=acme, owner=owner, name="Plans")
    document = document_create(notebook=notebook, name="plan.txt", data="step one")
    agent = agent_create(space=acme, owner=owner, name="Helper")

    for lookup, found in (
        (notebook_for_member, notebook),
        (document_for_member, document),
        (agent_for_member, agent),
    ):
        obj, membership = lookup(viewer, found.pk)
        assert obj == found
        assert (membership.space, membership.role, membership.can_write) == (acme, "viewer", False)
        assert lookup(owner, found.pk)[1].role == "owner"
        assert lookup(outsider, found.pk) is None


def test_a_document_comes_without_its_text_unless_asked(make_user, django_assert_num_queries):
    owner = make_user()
    acme = space_create_organization(owner=owner, name="Acme")
    document = document_create(
        notebook=notebook_create(space=acme, owner=owner, name="N"), name="a", data="x"
    )

    without, _membership = document_for_member(owner, document.pk)
    with_text, _membership = document_for_member(owner, document.pk, with_content=True)

    assert "content" in without.get_deferred_fields()
    with django_assert_num_queries(0):
        assert (with_text.content, with_text.notebook.name) == ("x", "N")
