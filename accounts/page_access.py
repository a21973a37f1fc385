"""Who may see and change what on the pages: the same rules ``accounts.api.scoping`` applies to the API.

* a space the user is not a member of, and one that does not exist, answer the same 404, so nobody
  learns which spaces exist;
* a ``viewer`` reads, and any change answers 403;
* members are changed by owners and admins only (``accounts.services`` checks it again).
"""

import uuid
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import Membership, User
from accounts.selectors import membership_in

NOT_FOUND = "No such page, or it belongs to a space you are not a member of."


def membership_or_404(user: User, space_id: uuid.UUID | str, *, write: bool = False) -> Membership:
    """The user's membership of the space; 404 when there is none, 403 for a viewer's change."""
    membership = membership_in(user, space_id)
    if membership is None:
        raise Http404(NOT_FOUND)
    return require_write(membership) if write else membership


def require_write(membership: Membership) -> Membership:
    """The membership, if it may change the space's notebooks, documents and agents; else 403."""
    if not membership.can_write:
        raise PermissionDenied("Viewers can read this space but not change it.")
    return membership


def require_member_manager(membership: Membership) -> Membership:
    """The membership, if it may change the space's members; else 403."""
    if not membership.can_manage_members:
        raise PermissionDenied("Only the space's owners and admins can change its members.")
    return membership


@dataclass(frozen=True)
class MemberControls:
    """What a member-managing page offers for one member: the roles it may set, removal, and why not."""

    roles: list[str] = field(default_factory=list)
    can_remove: bool = False
    note: str = ""


LAST_OWNER_NOTE = (
    "The space's last owner can be neither removed nor demoted: make another member owner first."
)
OWNERS_ONLY_NOTE = "Only an owner can change or remove an owner."


def member_controls(actor: Membership, member: Membership, *, owner_count: int) -> MemberControls:
    """The controls the pages show ``actor`` for ``member``: ``accounts.services``' rules, told ahead.

    The services check every change again; this only spares people buttons that could not work.
    """
    if not actor.can_manage_members or actor.space.is_personal:
        return MemberControls()
    if member.role not in actor.grantable_roles:
        return MemberControls(note=OWNERS_ONLY_NOTE)
    if member.role == Membership.Role.OWNER and owner_count == 1:
        return MemberControls(note=LAST_OWNER_NOTE)
    return MemberControls(roles=actor.grantable_roles, can_remove=True)
