"""Reads of users, spaces and memberships."""

from accounts.models import Space, User


def personal_space_of(user: User) -> Space | None:
    """The user's personal space, or ``None`` before onboarding created it."""
    return Space.objects.filter(owner=user, type=Space.Type.PERSONAL).first()
