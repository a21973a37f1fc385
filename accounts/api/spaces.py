"""Spaces and their members: ``/api/v1/spaces…`` and ``/api/v1/users/me/spaces``."""

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.api.scoping import NOT_A_MEMBER, SPACE_HEADER_PARAMETER, requested_membership
from accounts.api.serializers import (
    MemberAddSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    MySpacesSerializer,
    SpaceCreateSerializer,
    SpaceSerializer,
)
from accounts.models import Membership


def _membership_or_404(request: Request, space_id: uuid.UUID) -> Membership:
    membership = selectors.membership_in(request.user, space_id)
    if membership is None:
        raise exceptions.NotFound(NOT_A_MEMBER)
    return membership


class MySpacesView(APIView):
    """The caller's personal space, organization spaces, and the space ``X-Space-ID`` selects."""

    extra_error_statuses = {"GET": {400, 404}}

    @extend_schema(
        responses=MySpacesSerializer, parameters=[SPACE_HEADER_PARAMETER], operation_id="users_me_spaces"
    )
    def get(self, request: Request) -> Response:
        memberships = list(selectors.memberships_of(request.user))
        personal = next(
            (m for m in memberships if m.space.is_personal and m.space.owner_id == request.user.pk), None
        )
        current = requested_membership(request) or personal
        body = {
            "personal_space": personal,
            "organization_spaces": [m for m in memberships if not m.space.is_personal],
            "current_space": current,
        }
        return Response(MySpacesSerializer(body).data)


class SpaceListView(GenericAPIView):
    """Organization spaces the caller is a member of; POST creates one with the caller as owner."""

    serializer_class = SpaceSerializer

    @extend_schema(responses=SpaceSerializer(many=True), operation_id="spaces_list")
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.organization_memberships_of(request.user))
        return self.get_paginated_response(SpaceSerializer(page, many=True).data)

    @extend_schema(
        request=SpaceCreateSerializer, responses={201: SpaceSerializer}, operation_id="spaces_create"
    )
    def post(self, request: Request) -> Response:
        data = SpaceCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        space = services.space_create_organization(owner=request.user, **data.validated_data)
        membership = selectors.membership_in(request.user, space.pk)
        return Response(SpaceSerializer(membership).data, status=status.HTTP_201_CREATED)


class SpaceDetailView(APIView):
    """A space the caller is a member of, with their role."""

    @extend_schema(responses=SpaceSerializer, operation_id="spaces_retrieve")
    def get(self, request: Request, space_id: uuid.UUID) -> Response:
        return Response(SpaceSerializer(_membership_or_404(request, space_id)).data)


class MemberListView(GenericAPIView):
    """A space's members; POST adds a user who has signed in before, by e-mail."""

    serializer_class = MemberSerializer
    extra_error_statuses = {"POST": {409}}

    @extend_schema(responses=MemberSerializer(many=True), operation_id="spaces_members_list")
    def get(self, request: Request, space_id: uuid.UUID) -> Response:
        space = _membership_or_404(request, space_id).space
        page = self.paginate_queryset(selectors.space_members(space))
        return self.get_paginated_response(MemberSerializer(page, many=True).data)

    @extend_schema(
        request=MemberAddSerializer, responses={201: MemberSerializer}, operation_id="spaces_members_create"
    )
    def post(self, request: Request, space_id: uuid.UUID) -> Response:
        space = _membership_or_404(request, space_id).space
        data = MemberAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.member_add_by_email(space=space, actor=request.user, **data.validated_data)
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailView(APIView):
    """Change a member's role or remove them (owners and admins only; the last owner stays)."""

    extra_error_statuses = {"PATCH": {409}, "DELETE": {409}}

    def _target(self, request: Request, space_id: uuid.UUID, user_id: uuid.UUID) -> Membership:
        space = _membership_or_404(request, space_id).space
        target = selectors.space_member(space, user_id)
        if target is None:
            raise exceptions.NotFound("This user is not a member of the space.")
        return target

    @extend_schema(
        request=MemberRoleSerializer, responses=MemberSerializer, operation_id="spaces_members_update"
    )
    def patch(self, request: Request, space_id: uuid.UUID, user_id: uuid.UUID) -> Response:
        target = self._target(request, space_id, user_id)
        data = MemberRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.member_change_role(
            space=target.space, actor=request.user, user=target.user, role=data.validated_data["role"]
        )
        return Response(MemberSerializer(membership).data)

    @extend_schema(responses={204: None}, operation_id="spaces_members_destroy")
    def delete(self, request: Request, space_id: uuid.UUID, user_id: uuid.UUID) -> Response:
        target = self._target(request, space_id, user_id)
        services.member_remove(space=target.space, actor=request.user, user=target.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
