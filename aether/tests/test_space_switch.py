"""Choosing the current space in the page header."""

import pytest

from accounts.models import Membership
from accounts.selectors import personal_space_of
from accounts.services import membership_add, space_create_organization
from notebooks.services import notebook_create
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def organization(make_user, user):
    onboard_user(user=user, trigger="login")
    owner = make_user()
    space = space_create_organization(owner=owner, name="Acme Research")
    notebook_create(space=space, owner=owner, name="Lab protocols")
    membership_add(space=space, user=user, role=Membership.Role.MEMBER)
    return space


def test_the_header_offers_every_space_of_the_user(client, user, organization):
    client.force_login(user)

    page = client.get("/").content.decode()

    assert '<label for="space-switcher">Space</label>' in page
    assert f'<option value="{personal_space_of(user).pk}" selected>Ada Lovelace&#x27;s Personal Space' in page
    assert f'<option value="{organization.pk}">Acme Research (Member)</option>' in page


def test_switching_shows_only_the_chosen_spaces_notebooks_and_is_remembered(client, user, organization):
    client.force_login(user)

    response = client.post("/spaces/switch/", {"space": str(organization.pk)}, follow=True)

    page = response.content.decode()
    assert "<h1>Acme Research</h1>" in page
    assert "Lab protocols" in page
    assert "Getting Started" not in page
    assert "Lab protocols" in client.get("/").content.decode()


def test_a_space_the_user_left_is_no_longer_current(client, user, organization):
    client.force_login(user)
    client.post("/spaces/switch/", {"space": str(organization.pk)})

    Membership.objects.filter(user=user, space=organization).delete()

    page = client.get("/").content.decode()
    assert "Lab protocols" not in page
    assert "Getting Started" in page


@pytest.mark.parametrize("space", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", ""])
def test_switching_to_an_unknown_space_is_not_found(client, user, space):
    client.force_login(user)

    assert client.post("/spaces/switch/", {"space": space}).status_code == 404


def test_switching_to_someone_elses_space_is_not_found(client, make_user, user):
    other = space_create_organization(owner=make_user(), name="Secret")
    client.force_login(user)

    assert client.post("/spaces/switch/", {"space": str(other.pk)}).status_code == 404
    assert "Secret" not in client.get("/").content.decode()


def test_switching_needs_a_post(client, user, organization):
    client.force_login(user)

    assert client.get(f"/spaces/switch/?space={organization.pk}").status_code == 405
