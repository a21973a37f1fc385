from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import UserMeSerializer
from accounts.selectors import user_standing


class UserMeView(APIView):
    """The signed-in user."""

    @extend_schema(responses=UserMeSerializer, operation_id="users_me")
    def get(self, request: Request) -> Response:
        standing = user_standing(request.user)
        return Response(UserMeSerializer(request.user, context={"standing": standing}).data)
