"""Writes for users, spaces and memberships."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Membership, Space, User
from accounts.selectors import user_by_email
from accounts.sessions import user_sessions_end
from aether.errors import ConflictError, NotFoundError
from aether.rows import hold_row, hold_rows

logger = logging.getLogger("aether.accounts")

USERNAME_MAX_LENGTH = User._meta.get_field("username").max_length


def _username_base(preferred: str) -> str:
    """``preferred`` made valid for Django's username rules (and short enough for a numeric suffix)."""
    return slugify(preferred.replace("@", "-at-"))[: USERNAME_MAX_LENGTH - 8] or "user"


def _available_username(preferred: str) -> str:
    """``preferred`` made valid for Django's username rules, with a numeric suffix if it is taken."""
    base = _username_base(preferred)
    candidate, number = base, 1
    while User.objects.filter(username=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _insert_user(**fields: object) -> User:
    """One INSERT. In autocommit mode it is a transaction of its own; inside a caller's transaction a
    savepoint keeps that transaction usable when the INSERT is refused (a username or ``sub`` taken)."""
    if transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return User.objects.create_user(**fields)
    return User.objects.create_user(**fields)


def user_create(
    *, sub: str | None, email: str = "", username: str = "", full_name: str = "", **extra: object
) -> User:
    """Create a user; the username is derived from ``username``, the e-mail or the ``sub`` and made unique.

    The derived name is tried first, as one INSERT; only when it is taken is a free one looked for. A
    concurrent creation of the same username is retried with the next free one; a concurrent creation
    of the same ``sub`` raises ``IntegrityError`` for the caller to resolve.
    """
    preferred = username or (email.split("@", 1)[0] if email else "") or (sub or "user")
    candidate = _username_base(preferred)
    for _attempt in range(5):
        try:
            return _insert_user(username=candidate, email=email, sub=sub, full_name=full_name, **extra)
        except IntegrityError:
            if sub and User.objects.filter(sub=sub).exists():
                raise
        candidate = _available_username(preferred)
    raise IntegrityError(f"Could not find a free username for {preferred!r}.")


def _text_claim(claims: Mapping[str, Any], name: str, max_length: int) -> str:
    value = claims.get(name)
    return value.strip()[:max_length] if isinstance(value, str) else ""


def _full_name(claims: Mapping[str, Any]) -> str:
    name = _text_claim(claims, "name", 255)
    if name:
        return name
    parts = (_text_claim(claims, "given_name", 255), _text_claim(claims, "family_name", 255))
    return " ".join(part for part in parts if part)[:255]


def _roles(claims: Mapping[str, Any]) -> set[str]:
    """Keycloak's realm roles and this client's roles, as found in the claims."""
    roles: set[str] = set()
    sources = [claims.get("realm_access")]
    resource_access = claims.get("resource_access")
    if isinstance(resource_access, Mapping):
        sources.append(resource_access.get(settings.OIDC_CLIENT_ID))
    for source in sources:
        if isinstance(source, Mapping) and isinstance(source.get("roles"), list):
            roles.update(role for role in source["roles"] if isinstance(role, str))
    return roles


def _username_fits(username: str, preferred: str) -> bool:
    """Whether ``username`` is already what ``preferred`` derives to (maybe with a numeric suffix)."""
    base = _username_base(preferred)
    suffix = username.removeprefix(base)
    return suffix == "" or (suffix.startswith("-") and suffix[1:].isdigit())


def _role_changes(user: User, roles: set[str]) -> dict[str, bool]:
    """The ``is_superuser``/``is_staff`` values ``roles`` call for, where configured and different."""
    changed = {}
    superuser = bool(settings.OIDC_SUPERUSER_ROLES) and bool(roles & set(settings.OIDC_SUPERUSER_ROLES))
    if settings.OIDC_SUPERUSER_ROLES and superuser != user.is_superuser:
        changed["is_superuser"] = superuser
    if settings.OIDC_STAFF_ROLES:
        # A superuser must reach the admin too.
        staff = bool(roles & set(settings.OIDC_STAFF_ROLES)) or superuser
        if staff != user.is_staff:
            changed["is_staff"] = staff
    return changed


def _groups_for(roles: set[str]) -> tuple[bool, set[str]]:
    """Whether any role maps to a group, and the names of the groups ``roles`` call for.

    Staff roles call for ``OIDC_STAFF_GROUP``; ``OIDC_ROLE_GROUPS`` pairs add their own.
    """
    mapping = [(role, settings.OIDC_STAFF_GROUP) for role in settings.OIDC_STAFF_ROLES]
    mapping += list(settings.OIDC_ROLE_GROUPS)
    return bool(mapping), {group for role, group in mapping if role in roles}


def user_sync_role_groups(*, user: User, roles: set[str]) -> None:
    """Put the user in the groups their provider roles call for; take back those whose role went.

    Only groups that sign-in granted are ever taken back (``User.role_groups`` remembers them): a
    group someone added by hand stays, with or without the role. A group named in the settings that
    does not exist yet is created, without permissions.
    """
    configured, wanted = _groups_for(roles)
    if not configured:
        return
    granted_rows = User.role_groups.through.objects.filter(user=user)
    current = (
        Group.objects.filter(Q(user=user) | Q(pk__in=granted_rows.values("group_id")))
        .annotate(
            member=Exists(User.groups.through.objects.filter(user=user, group=OuterRef("pk"))),
            granted=Exists(granted_rows.filter(group=OuterRef("pk"))),
        )
        .values_list("name", "member", "granted")
    )
    member_of = {name for name, member, _granted in current if member}
    granted = {name for name, _member, was_granted in current if was_granted}
    to_add = wanted - member_of
    # A group the user had before the role (by hand) is not recorded: losing the role leaves it.
    to_record = to_add - granted
    to_take = granted - wanted
    if not (to_add or to_record or to_take):
        return
    with transaction.atomic():
        if to_add:
            groups = [_group_named(name) for name in sorted(to_add)]
            user.groups.add(*groups)
            user.role_groups.add(*(group for group in groups if group.name in to_record))
        if to_take:
            taken = list(Group.objects.filter(name__in=to_take))
            user.groups.remove(*taken)
            user.role_groups.remove(*taken)
    logger.info(
        "sign-in roles changed the user's groups",
        extra={"user_id": str(user.pk), "added": sorted(to_add), "removed": sorted(to_take)},
    )


def _group_named(name: str) -> Group:
    group, created = Group.objects.get_or_create(name=name)
    if created:
        logger.warning(
            "sign-in created a group named in the settings; it has no permissions yet",
            extra={"group": name},
        )
    return group


def user_apply_claims(*, user: User, claims: Mapping[str, Any]) -> User:
    """Copy e-mail (and whether it is verified), username, full name, staff roles and groups from the claims.

    Called at every sign-in, so the provider stays the source of truth; the row is written only when
    something changed. ``OIDC_STAFF_ROLES``/``OIDC_SUPERUSER_ROLES`` left empty never touch the flags,
    and neither do claims carrying neither ``realm_access`` nor ``resource_access``; the same holds for
    the groups roles grant (``user_sync_role_groups``). Raises ``User.DoesNotExist`` when the user was
    deleted since they were read.
    """
    changed: dict[str, object] = {}
    email = _text_claim(claims, "email", 254)
    if email and email != user.email:
        changed["email"] = email
    # Absent means unknown and is accepted (the development provider sends no such claim); Keycloak
    # says false for an address nobody has confirmed.
    email_verified = claims.get("email_verified") is not False
    if email_verified != user.email_verified:
        changed["email_verified"] = email_verified
    full_name = _full_name(claims)
    if full_name and full_name != user.full_name:
        changed["full_name"] = full_name
    preferred = _text_claim(claims, "preferred_username", USERNAME_MAX_LENGTH)
    if preferred and not _username_fits(user.username, preferred):
        changed["username"] = _available_username(preferred)
    # Claims without any role claim (an opaque token's userinfo, an access token from a provider
    # that leaves roles out) say nothing about roles: they must not take staff away.
    roles = _roles(claims) if "realm_access" in claims or "resource_access" in claims else None
    if roles is not None:
        changed.update(_role_changes(user, roles))
    for attempt in range(5):
        if not changed:
            break
        try:
            with transaction.atomic():
                # A queryset update, not save(update_fields=...): a user deleted meanwhile (an admin
                # removing them as they sign in) updates nothing instead of raising a database error.
                now = timezone.now()
                if not User.objects.filter(pk=user.pk).update(**changed, updated_at=now):
                    raise User.DoesNotExist("The user was deleted while signing in.")
            for name, value in {**changed, "updated_at": now}.items():
                setattr(user, name, value)
            break
        except IntegrityError:
            # Someone else took the free username between the check and the save (two renames to
            # the same preferred_username at once): like user_create, take the next free one.
            if "username" not in changed or attempt == 4:
                raise
            changed["username"] = _available_username(preferred)
    if roles is not None:
        user_sync_role_groups(user=user, roles=roles)
    return user


def user_sign_in(*, claims: Mapping[str, Any], known: User | None) -> tuple[User, bool]:
    """The user the verified ``claims`` describe, created on their first sign-in, claims applied.

    ``known`` is the user with the claims' ``sub`` as the caller just read them
    (``selectors.user_by_sub``), or ``None`` when there is none: the caller reads, so that it can
    read more in the same statement and act on it before anything is written. Users are matched by
    ``sub`` only: a new ``sub`` arriving with a known e-mail is a new user and never takes over the
    existing account. Two first sign-ins of one ``sub`` may race: the loser's ``IntegrityError`` is
    resolved by reading the winner's row. Returns ``(user, created)``.
    """
    sub = claims["sub"]
    user = known
    created = False
    if user is None:
        try:
            user = user_create(
                sub=sub,
                email=_text_claim(claims, "email", 254),
                username=_text_claim(claims, "preferred_username", USERNAME_MAX_LENGTH),
                full_name=_full_name(claims),
            )
            created = True
        except IntegrityError:
            user = User.objects.get(sub=sub)
    return user_apply_claims(user=user, claims=claims), created


@dataclass(frozen=True)
class Deactivation:
    """What ``user_deactivate`` did to one user."""

    user: User
    was_active: bool
    sessions_ended: int


@transaction.atomic
def user_deactivate(*, user: User) -> Deactivation:
    """Turn ``user`` inactive and end every session they hold, at once.

    Their browsers are visitors from their next request on, and their bearer tokens are refused at
    the next API call (both ways in check ``is_active``). Their sessions are deleted from the
    session store, so turning them active again later brings none of them back. An inactive user's
    leftover sessions are ended too: running this twice is harmless.
    """
    # One conditional UPDATE: two concurrent deactivations agree on which of them changed the flag.
    was_active = bool(
        User.objects.filter(pk=user.pk, is_active=True).update(is_active=False, updated_at=timezone.now())
    )
    user.is_active = False
    ended = user_sessions_end(user=user)
    transaction.on_commit(
        lambda: logger.info(
            "user deactivated",
            extra={"user_id": str(user.pk), "was_active": was_active, "sessions_ended": ended},
        )
    )
    return Deactivation(user=user, was_active=was_active, sessions_ended=ended)


@transaction.atomic
def space_create_organization(*, owner: User, name: str, description: str = "") -> Space:
    """Create an organization space whose creator is its owner; ``ValidationError`` for an unfit name."""
    space = Space(type=Space.Type.ORGANIZATION, owner=owner, name=name.strip(), description=description)
    space.full_clean()
    hold_row(User, owner.pk)  # deleted meanwhile: gone, not a foreign key violation at commit
    space.save()
    Membership.objects.create(user=owner, space=space, role=Membership.Role.OWNER)
    return space


def membership_add(*, space: Space, user: User, role: str = Membership.Role.MEMBER) -> Membership:
    """Add ``user`` to ``space`` with ``role``, or change their role if they are a member already."""
    membership, _created = Membership.objects.update_or_create(
        space=space, user=user, defaults={"role": role}
    )
    return membership


class MembershipConflict(ConflictError):
    """The change would leave the space in a state it must never be in (no owner, a duplicate member)."""


def _require_manager(space: Space, actor: User) -> Membership:
    """The actor's membership, if it lets them manage members; else ``PermissionDenied``."""
    membership = Membership.objects.filter(space=space, user=actor).first()
    if membership is None or not membership.can_manage_members:
        raise PermissionDenied("Only the space's owners and admins can change its members.")
    return membership


def _require_shared(space: Space) -> None:
    if space.is_personal:
        raise ValidationError("A personal space has no other members.")


def _lock_owners(space: Space) -> list[Membership]:
    """Lock the space's owner rows so two concurrent changes cannot both remove 'the other' owner."""
    return list(
        Membership.objects.select_for_update().filter(space=space, role=Membership.Role.OWNER).order_by("pk")
    )


class UnknownEmail(NotFoundError):
    """Nobody with this verified e-mail address has signed in yet."""

    default_message = "No user with this e-mail address has signed in yet."


def _is_member(space: Space, user: User) -> bool:
    return Membership.objects.filter(space=space, user=user).exists()


@transaction.atomic
def member_add_by_email(*, space: Space, actor: User, email: str, role: str) -> Membership:
    """Add the user with this verified ``email`` to the shared ``space``.

    Only owners and admins may, and only owners grant ``owner``. The actor's right is checked before
    the address is looked up, so nobody else can probe which addresses have signed in.
    """
    manager = _require_manager(space, actor)
    _require_shared(space)
    if role == Membership.Role.OWNER and role not in manager.grantable_roles:
        raise PermissionDenied("Only an owner can make someone an owner.")
    user = user_by_email(email)
    # Held until the membership commits; deleted meanwhile, the user is as unknown as any other.
    if user is None or not hold_rows(User, [user.pk]):
        raise UnknownEmail()
    duplicate = MembershipConflict("This user is already a member; change their role instead.")
    hold_row(Space, space.pk)  # deleted meanwhile: gone, not a foreign key violation at commit
    if _is_member(space, user):
        raise duplicate
    membership = Membership(space=space, user=user, role=role)
    membership.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            membership.save()
    except IntegrityError as exc:
        # Added by a concurrent request since the check above.
        raise duplicate from exc
    return membership


@transaction.atomic
def member_change_role(*, space: Space, actor: User, user: User, role: str) -> Membership:
    """Change a member's role; owners are changed only by owners, and the last owner stays an owner."""
    manager = _require_manager(space, actor)
    owners = _lock_owners(space)
    membership = Membership.objects.select_for_update().get(space=space, user=user)
    touches_owner = Membership.Role.OWNER in {membership.role, role}
    if touches_owner and Membership.Role.OWNER not in manager.grantable_roles:
        raise PermissionDenied("Only an owner can grant or take away the owner role.")
    if membership.role == Membership.Role.OWNER and role != Membership.Role.OWNER and len(owners) == 1:
        raise MembershipConflict("The space's last owner cannot be demoted; make another member owner first.")
    membership.role = role
    membership.full_clean(validate_constraints=False)
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_remove(*, space: Space, actor: User, user: User) -> None:
    """Remove a member; owners are removed only by owners, and never the last one."""
    manager = _require_manager(space, actor)
    owners = _lock_owners(space)
    membership = Membership.objects.select_for_update().get(space=space, user=user)
    if membership.role == Membership.Role.OWNER:
        if Membership.Role.OWNER not in manager.grantable_roles:
            raise PermissionDenied("Only an owner can remove an owner.")
        if len(owners) == 1:
            raise MembershipConflict("The space's last owner cannot be removed.")
    membership.delete()
