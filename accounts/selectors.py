"""Reads of users, spaces and memberships. Space access is decided here, once, for the API and the pages."""

import uuid

from django.db.models import QuerySet

from accounts.models import Membership, Space, User


def personal_space_of(user: User) -> Space | None:
    """The user's personal space, or ``None`` before onboarding created it."""
    return Space.objects.filter(owner=user, type=Space.Type.PERSONAL).first()


def memberships_of(user: User) -> QuerySet[Membership]:
    """The user's memberships with their spaces: personal first, then organizations by name."""
    return (
        Membership.objects.filter(user=user)
        .select_related("space")
        .order_by("-space__type", "space__name")  # "personal" sorts after "organization"
    )


def membership_in(user: User, space_id: uuid.UUID | str) -> Membership | None:
    """The user's membership in the space, or ``None`` when there is no such space or they are not in it.

    Callers answer both cases the same way (404), so nobody learns which spaces exist.
    """
    return Membership.objects.select_related("space").filter(user=user, space_id=space_id).first()


def space_members(space: Space) -> QuerySet[Membership]:
    return Membership.objects.filter(space=space).select_related("user").order_by("user__email")


def user_by_email(email: str) -> User | None:
    """A signed-in-before user with this e-mail (case-insensitive), if exactly one exists."""
    users = list(User.objects.filter(email__iexact=email.strip())[:2])
    return users[0] if len(users) == 1 else None


def space_member(space: Space, user_id: uuid.UUID | str) -> Membership | None:
    return Membership.objects.select_related("user").filter(space=space, user_id=user_id).first()


def organization_memberships_of(user: User) -> QuerySet[Membership]:
    """The user's memberships in organization spaces, by space name."""
    return (
        Membership.objects.filter(user=user, space__type=Space.Type.ORGANIZATION)
        .select_related("space")
        .order_by("space__name", "space_id")
    )
