"""Writes for users, spaces and memberships."""

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts.models import Membership, Space, User

USERNAME_MAX_LENGTH = User._meta.get_field("username").max_length


def _available_username(preferred: str) -> str:
    """``preferred`` made valid for Django's username rules, with a numeric suffix if it is taken."""
    base = slugify(preferred.replace("@", "-at-"))[: USERNAME_MAX_LENGTH - 8] or "user"
    candidate, number = base, 1
    while User.objects.filter(username=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def user_create(
    *, sub: str | None, email: str = "", username: str = "", full_name: str = "", **extra: object
) -> User:
    """Create a user; the username is derived from ``username``, the e-mail or the ``sub`` and made unique.

    A concurrent creation of the same username is retried with the next free one; a concurrent
    creation of the same ``sub`` raises ``IntegrityError`` for the caller to resolve.
    """
    preferred = username or (email.split("@", 1)[0] if email else "") or (sub or "user")
    for _attempt in range(5):
        candidate = _available_username(preferred)
        try:
            with transaction.atomic():
                return User.objects.create_user(
                    username=candidate, email=email, sub=sub, full_name=full_name, **extra
                )
        except IntegrityError:
            if sub and User.objects.filter(sub=sub).exists():
                raise
    raise IntegrityError(f"Could not find a free username for {preferred!r}.")


@transaction.atomic
def space_create_organization(*, owner: User, name: str, description: str = "") -> Space:
    """Create an organization space whose creator is its owner."""
    space = Space.objects.create(
        type=Space.Type.ORGANIZATION, owner=owner, name=name, description=description
    )
    Membership.objects.create(user=owner, space=space, role=Membership.Role.OWNER)
    return space


def membership_add(*, space: Space, user: User, role: str = Membership.Role.MEMBER) -> Membership:
    """Add ``user`` to ``space`` with ``role``, or change their role if they are a member already."""
    membership, _created = Membership.objects.update_or_create(
        space=space, user=user, defaults={"role": role}
    )
    return membership
