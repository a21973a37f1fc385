"""Provider roles put users in groups at sign-in and take them out when the role goes.

Signed in through the real development provider, which hands out whatever ``realm_access`` a test
sets for the user.
"""

import pytest
from django.contrib.auth.models import Group

from accounts.models import User

pytestmark = pytest.mark.django_db

STAFF_GROUP = "Onboarding managers"


@pytest.fixture
def roles(settings):
    settings.OIDC_STAFF_ROLES = ["aether-staff"]
    settings.OIDC_SUPERUSER_ROLES = ["aether-admin"]
    settings.OIDC_ROLE_GROUPS = [("support", "Support desk"), ("support", "Readers"), ("audit", "Auditors")]


def sign_in_with_roles(client, dev_provider, sub: str, *role_names: str) -> User:
    client.post("/oidc/logout/")
    response = dev_provider.sign_in(
        client, sub, email=f"{sub}@example.com", realm_access={"roles": list(role_names)}
    )
    assert response.status_code == 302 and response["Location"] == "/", response
    return User.objects.get(sub=sub)


def group_names(user: User) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def test_a_staff_role_makes_staff_in_the_onboarding_managers_group_and_its_loss_undoes_both(
    client, dev_provider, roles
):
    user = sign_in_with_roles(client, dev_provider, "staff-1", "aether-staff")

    assert (user.is_staff, user.is_superuser) == (True, False)
    assert group_names(user) == {STAFF_GROUP}
    # The group the migration made, with its permissions: the user can manage onboarding.
    assert user.has_perm("onboarding.rerun_onboarding")
    assert user.has_perm("accounts.view_user") and not user.has_perm("accounts.change_user")

    user = sign_in_with_roles(client, dev_provider, "staff-1")

    assert user.is_staff is False
    assert group_names(user) == set()


def test_a_superuser_role_makes_a_superuser_until_it_goes(client, dev_provider, roles):
    user = sign_in_with_roles(client, dev_provider, "root-1", "aether-admin")
    assert (user.is_staff, user.is_superuser) == (True, True)

    user = sign_in_with_roles(client, dev_provider, "root-1", "aether-staff")
    assert (user.is_staff, user.is_superuser) == (True, False)


def test_a_mapped_role_adds_its_groups_and_its_loss_removes_them(client, dev_provider, roles):
    user = sign_in_with_roles(client, dev_provider, "desk-1", "support", "audit")
    assert group_names(user) == {"Support desk", "Readers", "Auditors"}
    # Not staff: a group alone does not open the admin.
    assert user.is_staff is False

    user = sign_in_with_roles(client, dev_provider, "desk-1", "audit")
    assert group_names(user) == {"Auditors"}

    user = sign_in_with_roles(client, dev_provider, "desk-1")
    assert group_names(user) == set()


def test_a_group_added_by_hand_stays_with_or_without_the_role(client, dev_provider, roles):
    user = sign_in_with_roles(client, dev_provider, "hand-1")
    support = Group.objects.create(name="Support desk")
    user.groups.add(support)

    user = sign_in_with_roles(client, dev_provider, "hand-1", "support")
    assert group_names(user) == {"Support desk", "Readers"}

    user = sign_in_with_roles(client, dev_provider, "hand-1")
    assert group_names(user) == {"Support desk"}
    assert list(user.role_groups.all()) == []


def test_a_group_granted_by_sign_in_and_removed_by_hand_comes_back_with_the_role(client, dev_provider, roles):
    user = sign_in_with_roles(client, dev_provider, "back-1", "audit")
    user.groups.remove(Group.objects.get(name="Auditors"))

    user = sign_in_with_roles(client, dev_provider, "back-1", "audit")
    assert group_names(user) == {"Auditors"}

    user = sign_in_with_roles(client, dev_provider, "back-1")
    assert group_names(user) == set()


def test_claims_without_roles_leave_the_groups_alone(client, dev_provider, roles):
    user = sign_in_with_roles(client, dev_provider, "opaque-1", "aether-staff", "audit")
    client.post("/oidc/logout/")

    # Claims without realm_access or resource_access say nothing about roles.
    dev_provider.sign_in(client, "opaque-1", email="opaque-1@example.com")

    user.refresh_from_db()
    assert user.is_staff is True
    assert group_names(user) == {STAFF_GROUP, "Auditors"}


def test_without_any_role_setting_groups_are_never_touched(client, dev_provider, make_user):
    user = make_user(sub="quiet-1")
    user.groups.add(Group.objects.create(name="Hand-made"))

    dev_provider.sign_in(client, "quiet-1", email="quiet@example.com", realm_access={"roles": ["x"]})

    assert group_names(user) == {"Hand-made"}


def test_a_client_role_counts_like_a_realm_role(client, dev_provider, roles):
    dev_provider.sign_in(
        client,
        "client-role-1",
        email="cr@example.com",
        resource_access={"aether-test": {"roles": ["audit"]}, "other-client": {"roles": ["support"]}},
    )

    assert group_names(User.objects.get(sub="client-role-1")) == {"Auditors"}
