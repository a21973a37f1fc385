"""A space's members come in a stable order, so the API's pages of members never overlap."""

import pytest

from accounts.models import Membership
from accounts.selectors import space_members
from accounts.services import membership_add, space_create_organization

pytestmark = pytest.mark.django_db


def test_space_members_are_ordered_by_a_unique_key_last(make_user):
    """E-mail addresses repeat (a new ``sub`` with a known e-mail is a new user): the order must not."""
    owner = make_user(email="same@example.com")
    acme = space_create_organization(owner=owner, name="Acme")
    for _ in range(3):
        membership_add(space=acme, user=make_user(email="same@example.com"))

    members = space_members(acme)

    assert members.query.order_by[-1] == "pk"
    assert list(members) == sorted(Membership.objects.filter(space=acme), key=lambda m: m.pk)
