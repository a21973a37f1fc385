"""Reads of users, spaces and memberships. Space access is decided here, once, for the API and the pages."""

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery

from accounts.models import Membership, Space, User


def user_by_sub(sub: str, **annotations: Any) -> User | None:
    """The user with this ``sub``, with their onboarding state, or ``None``: a sign-in's one lookup.

    The sign-in signal's receiver asks whether the user's onboarding completed: joined here, that
    answer costs no statement of its own. ``annotations`` are read in the same statement.
    """
    # get(), not first(): `sub` is unique, and first()'s ORDER BY costs CPU at every API call.
    try:
        return User.objects.select_related("onboarding").annotate(**annotations).get(sub=sub)
    except User.DoesNotExist:
        return None


def personal_space_of(user: User) -> Space | None:
    """The user's personal space, or ``None`` before onboarding created it."""
    return Space.objects.filter(owner=user, type=Space.Type.PERSONAL).first()


@dataclass(frozen=True)
class UserStanding:
    """What ``GET /api/v1/users/me`` says of a user beyond their own row."""

    personal_space_id: uuid.UUID | None
    onboarding_status: str


def user_standing(user: User) -> UserStanding:
    """The user's personal space and onboarding status, in one statement, read now.

    Read afresh, not from relations cached on ``user``: the sign-in signal's receivers (onboarding)
    may have just written both.
    """
    personal_space = Space.objects.filter(owner=OuterRef("pk"), type=Space.Type.PERSONAL).order_by()
    found = (
        User.objects.filter(pk=user.pk)
        .annotate(personal_space_id=Subquery(personal_space.values("pk")[:1]))
        .values("personal_space_id", "onboarding__status")
        .first()
    ) or {}
    return UserStanding(
        personal_space_id=found.get("personal_space_id"),
        onboarding_status=found.get("onboarding__status") or "not_started",
    )


def personal_membership_of(user: User) -> Membership | None:
    """The user's membership in their own personal space, in one query; ``None`` before onboarding."""
    return (
        Membership.objects.select_related("space")
        .filter(user=user, space__owner=user, space__type=Space.Type.PERSONAL)
        .first()
    )


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
    # The primary key breaks ties (e-mail addresses are not unique), so pages never overlap.
    return Membership.objects.filter(space=space).select_related("user").order_by("user__email", "pk")


def user_by_email(email: str) -> User | None:
    """A signed-in-before user with this verified e-mail (case-insensitive), if exactly one exists.

    An address the provider calls unverified could be anyone's: it never names a person here.
    """
    users = list(User.objects.filter(email__iexact=email.strip(), email_verified=True)[:2])
    return users[0] if len(users) == 1 else None


class AmbiguousIdentifier(Exception):
    """An e-mail address shared by several users: name one of them by ``sub``, username or id."""


def user_by_identifier(identifier: str) -> User | None:
    """The user named by their id, OIDC ``sub``, username or e-mail, in that order of precedence.

    Ids, subs and usernames are unique; e-mail addresses are not (a new ``sub`` with a known e-mail is
    a new user), so an e-mail shared by several users raises ``AmbiguousIdentifier``. A UUID is
    matched against ids and subs alike, since providers such as Keycloak use UUIDs as subs.
    """
    identifier = identifier.strip()
    if not identifier or "\x00" in identifier:
        # Nobody's id, sub, username or e-mail is empty or holds a NUL (which PostgreSQL refuses).
        return None
    matches = Q(sub=identifier) | Q(username=identifier) | Q(email__iexact=identifier)
    try:
        as_uuid: uuid.UUID | None = uuid.UUID(identifier)
    except ValueError:
        as_uuid = None
    else:
        matches |= Q(pk=as_uuid)
    candidates = list(User.objects.filter(matches)[:10])
    for matched in (
        lambda u: u.pk == as_uuid,
        lambda u: u.sub == identifier,
        lambda u: u.username == identifier,
    ):
        found = [user for user in candidates if matched(user)]
        if found:
            return found[0]
    if len(candidates) > 1:
        raise AmbiguousIdentifier(f"{identifier} is the e-mail of {len(candidates)} users")
    return candidates[0] if candidates else None


def users_by_identifiers(identifiers: list[str]) -> tuple[list[tuple[str, User]], dict[str, str]]:
    """The users the identifiers name, each once and in order, and why each other identifier names nobody.

    For commands that take users by e-mail, ``sub``, username or id (``user_by_identifier``): the
    second value maps an unknown or ambiguous identifier to a line for stderr.
    """
    named: list[tuple[str, User]] = []
    seen: set[uuid.UUID] = set()
    unknown: dict[str, str] = {}
    for identifier in identifiers:
        try:
            user = user_by_identifier(identifier)
        except AmbiguousIdentifier as exc:
            unknown[identifier] = f"ambiguous user: {exc}; name them by sub, username or id"
            continue
        if user is None:
            unknown[identifier] = f"unknown user: {identifier}"
        elif user.pk not in seen:
            seen.add(user.pk)
            named.append((identifier, user))
    return named, unknown


def space_owner_count(space: Space) -> int:
    return Membership.objects.filter(space=space, role=Membership.Role.OWNER).count()


def space_member(space: Space, user_id: uuid.UUID | str) -> Membership | None:
    return Membership.objects.select_related("user").filter(space=space, user_id=user_id).first()


def organization_memberships_of(user: User) -> QuerySet[Membership]:
    """The user's memberships in organization spaces, by space name."""
    return (
        Membership.objects.filter(user=user, space__type=Space.Type.ORGANIZATION)
        .select_related("space")
        .order_by("space__name", "space_id")
    )
