"""The space a signed-in person is working in, remembered in their session.

The session only holds a preference: every read goes back through ``membership_in``, so a space the
user has left (or never belonged to) is never shown, whatever the session says.
"""

import uuid

from django.http import HttpRequest

from accounts.models import Membership
from accounts.selectors import membership_in, memberships_of, personal_membership_of

SESSION_KEY = "aether_current_space_id"


def parse_space_id(value: object) -> uuid.UUID | None:
    """``value`` as a space id, or ``None`` when it is not a UUID."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def session_membership(request: HttpRequest) -> Membership | None:
    """The membership of the space the user chose, else their personal space's, else their first one.

    The pages' rule; the API's (``accounts.api.scoping.current_membership``) has no such fallback to
    any space: a request names its space or works in the personal one.
    """
    user = request.user
    chosen = parse_space_id(request.session.get(SESSION_KEY))
    if chosen is not None:
        membership = membership_in(user, chosen)
        if membership is not None:
            return membership
    return personal_membership_of(user) or memberships_of(user).first()


def remember_space(request: HttpRequest, membership: Membership) -> None:
    request.session[SESSION_KEY] = str(membership.space_id)
