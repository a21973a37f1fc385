import pytest
from django.db import IntegrityError

from accounts import services
from accounts.models import Membership, Space, User
from accounts.selectors import personal_membership_of
from accounts.services import membership_add, space_create_organization, user_create
from notebooks.models import Notebook
from notebooks.services import notebook_create
from onboarding.services import onboard_user

pytestmark = pytest.mark.django_db


def test_a_user_has_at_most_one_personal_space(user):
    Space.objects.create(type="personal", owner=user, name="One")
    space_create_organization(owner=user, name="Acme")

    with pytest.raises(IntegrityError):
        Space.objects.create(type="personal", owner=user, name="Two")


def test_a_user_has_at_most_one_onboarding_notebook(user):
    onboard_user(user=user, trigger="login")
    space = Space.objects.get(owner=user)

    with pytest.raises(IntegrityError):
        Notebook.objects.create(space=space, owner=user, name="Another", onboarding_key="onboarding")


def test_a_sub_belongs_to_one_user(user):
    with pytest.raises(IntegrityError):
        user_create(sub=user.sub, email="someone@example.com")


def test_usernames_are_derived_and_made_unique():
    first = user_create(sub="a", email="sam@example.com")
    second = user_create(sub="b", email="sam@example.org")
    third = user_create(sub="c", username="Sam Smith")

    assert (first.username, second.username, third.username) == ("sam", "sam-2", "sam-smith")


def test_deleting_an_organizations_creator_keeps_the_space_and_the_others_notebooks(ada, acme, make_user):
    bob = make_user()
    membership_add(space=acme, user=bob, role=Membership.Role.OWNER)
    kept = notebook_create(space=acme, owner=bob, name="Bob's research")
    notebook_create(space=acme, owner=ada, name="Ada's draft")
    personal = Space.objects.get(owner=ada, type="personal")

    ada.delete()

    acme.refresh_from_db()
    assert acme.owner is None
    assert list(Notebook.objects.filter(space=acme)) == [kept]
    assert list(acme.memberships.values_list("user_id", "role")) == [(bob.pk, "owner")]
    assert not Space.objects.filter(pk=personal.pk).exists()


def test_a_personal_space_needs_an_owner(user):
    with pytest.raises(IntegrityError):
        Space.objects.create(type="personal", owner=None, name="Nobody's")


def test_a_rename_racing_another_to_the_same_username_takes_the_next_free_one(make_user, monkeypatch):
    renamed = make_user(username="old-name")
    real_available_username = services._available_username

    def loses_the_race(preferred: str) -> str:
        # Failure injection: another sign-in renames someone to the free name right after it was
        # found free, before this rename is saved.
        candidate = real_available_username(preferred)
        monkeypatch.setattr(services, "_available_username", real_available_username)
        user_create(sub="the-other-one", username=candidate)
        return candidate

    monkeypatch.setattr(services, "_available_username", loses_the_race)

    services.user_apply_claims(user=renamed, claims={"sub": renamed.sub, "preferred_username": "wanted"})

    renamed.refresh_from_db()
    assert renamed.username == "wanted-2"
    assert User.objects.get(sub="the-other-one").username == "wanted"


def test_the_personal_membership_is_read_in_one_query(ada, acme, django_assert_num_queries):
    with django_assert_num_queries(1):
        membership = personal_membership_of(ada)
        assert membership.space.is_personal and membership.space.owner_id == ada.pk
        assert membership.role == Membership.Role.OWNER
    # An organization space is never mistaken for it, nor someone else's personal space.
    assert personal_membership_of(User.objects.create_user(username="new", sub="new-sub")) is None
