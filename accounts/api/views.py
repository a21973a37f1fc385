from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import UserMeSerializer
from accounts.models import User
from accounts.selectors import personal_space_of


class UserMeView(APIView):
    """The signed-in user."""

    @extend_schema(responses=UserMeSerializer, operation_id="users_me")
    def get(self, request: Request) -> Response:
        # Read afresh: the sign-in signal's receivers (onboarding) may have just written the user's
        # onboarding row, which a relation cached on request.user would not show.
        user = User.objects.select_related("onboarding").get(pk=request.user.pk)
        context = {
            "personal_space": personal_space_of(user),
            "onboarding_status": getattr(getattr(user, "onboarding", None), "status", "not_started"),
        }
        return Response(UserMeSerializer(user, context=context).data)
