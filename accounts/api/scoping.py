"""Which space an API request works in, and whether the caller may read or write there.

The one place that decides it for every space-scoped route (notebooks, documents, agents, search):

* the ``X-Space-ID`` header names the space; without it, the caller's personal space;
* a header that is not a UUID answers 400;
* a space that does not exist and a space the caller is not a member of both answer 404, with the
  same body, so nobody learns which spaces exist;
* a ``viewer`` may read but any write answers 403.

Objects addressed by id (``/notebooks/{id}``, ``/documents/{id}``, ``/agents/{id}``) are looked up
within that space only: an object of another space answers 404 even when the caller belongs to it,
until the request names that space in ``X-Space-ID``.
"""

import re
import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.models import Membership, Space
from accounts.selectors import membership_in, personal_membership_of

SPACE_HEADER = "X-Space-ID"
SPACE_ID_PATTERN = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII
)
NOT_A_MEMBER = "No such space, or you are not a member of it."

SPACE_HEADER_PARAMETER = OpenApiParameter(
    name=SPACE_HEADER,
    type=OpenApiTypes.UUID,
    location=OpenApiParameter.HEADER,
    required=False,
    description="The space to work in; the caller's personal space when absent.",
)


def _header_space_id(request: Request) -> uuid.UUID | None:
    raw = request.headers.get(SPACE_HEADER)
    if raw is None:
        return None
    # Only the form ids are given in (``uuid.UUID`` would also take braces, ``urn:uuid:`` and bare hex).
    if not SPACE_ID_PATTERN.fullmatch(raw.strip()):
        raise exceptions.ParseError(f"{SPACE_HEADER} must be a space id (a UUID).")
    return uuid.UUID(raw.strip())


def requested_membership(request: Request) -> Membership | None:
    """The caller's membership in the space ``X-Space-ID`` names, or ``None`` without the header."""
    space_id = _header_space_id(request)
    if space_id is None:
        return None
    membership = membership_in(request.user, space_id)
    if membership is None:
        raise exceptions.NotFound(NOT_A_MEMBER)
    return membership


def current_membership(request: Request) -> Membership:
    """The caller's membership in the request's space (header, else personal space), cached per request."""
    cached = getattr(request, "_aether_membership", None)
    if cached is not None:
        return cached
    membership = requested_membership(request)
    if membership is None:
        membership = personal_membership_of(request.user)
        if membership is None:
            raise exceptions.NotFound(
                "You have no personal space yet; POST /api/v1/users/me/onboarding/retry creates it, "
                f"or name a space in {SPACE_HEADER}."
            )
    request._aether_membership = membership
    return membership


class InCurrentSpace(BasePermission):
    """Any member reads the current space; every role but ``viewer`` writes to it."""

    def has_permission(self, request: Request, view: object) -> bool:
        membership = current_membership(request)
        if request.method not in SAFE_METHODS and not membership.can_write:
            raise exceptions.PermissionDenied("Viewers can read this space but not change it.")
        return True


class SpaceScopedMixin:
    """For views whose objects live in the current space: ``self.space`` and ``self.membership``."""

    space_scoped = True

    def get_permissions(self) -> list[BasePermission]:
        return [*super().get_permissions(), InCurrentSpace()]

    @property
    def membership(self) -> Membership:
        return current_membership(self.request)

    @property
    def space(self) -> Space:
        return self.membership.space
