"""The space admin keeps the rules the membership services keep."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Space
from accounts.services import membership_add, space_create_organization
from aether.tests.admin_forms import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user(email="root@example.com", is_staff=True, is_superuser=True))
    return client


def change_url(space: Space) -> str:
    return reverse("admin:accounts_space_change", args=[space.pk])


def member_row(data: dict, space: Space, user) -> str:
    """The prefix of the form row that shows ``user``'s membership of ``space``."""
    membership = Membership.objects.get(space=space, user=user)
    return next(
        k.removesuffix("-id") for k, v in data.items() if k.endswith("-id") and v == str(membership.pk)
    )


def test_type_and_owner_cannot_change_once_a_space_exists(staff_client, ada):
    space = Space.objects.get(owner=ada, type=Space.Type.PERSONAL)

    page = staff_client.get(change_url(space)).content.decode()

    assert 'name="type"' not in page
    assert 'name="owner"' not in page


def test_the_last_owner_cannot_be_demoted_or_removed(staff_client, ada, make_user):
    organization = space_create_organization(owner=ada, name="Acme")
    member = make_user()
    membership_add(space=organization, user=member)
    data = form_data(staff_client.get(change_url(organization)).content.decode())
    row = member_row(data, organization, ada)

    demoted = staff_client.post(change_url(organization), {**data, f"{row}-role": "member"})
    removed = staff_client.post(change_url(organization), {**data, f"{row}-DELETE": "on"})

    for response in (demoted, removed):
        assert response.status_code == 200
        assert "last owner cannot be removed or demoted" in response.content.decode()
    assert Membership.objects.get(user=ada, space=organization).role == "owner"


def test_handing_over_ownership_first_then_demoting_works(staff_client, ada, make_user):
    organization = space_create_organization(owner=ada, name="Acme")
    member = make_user()
    membership_add(space=organization, user=member, role="owner")
    data = form_data(staff_client.get(change_url(organization)).content.decode())
    row = member_row(data, organization, ada)

    response = staff_client.post(change_url(organization), {**data, f"{row}-role": "member"})

    assert response.status_code == 302
    assert Membership.objects.get(user=ada, space=organization).role == "member"


def test_a_personal_space_takes_no_members(staff_client, ada, make_user):
    space = Space.objects.get(owner=ada, type=Space.Type.PERSONAL)
    stranger = make_user()
    data = form_data(staff_client.get(change_url(space)).content.decode())
    new_row = next(k.removesuffix("-user") for k in data if k.endswith("-0-user") and "-2-" in k)

    response = staff_client.post(change_url(space), {**data, f"{new_row}-user": str(stranger.pk)})

    assert response.status_code == 200
    assert "A personal space has no other members." in response.content.decode()
    assert not Membership.objects.filter(user=stranger).exists()
