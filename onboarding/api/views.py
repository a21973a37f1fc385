"""The caller's onboarding: its status, its runs, and a retry that creates whatever is missing."""

from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from aether.throttling.throttles import ApiThrottle, OnboardingRetryThrottle
from onboarding.api.serializers import OnboardingRunSerializer, OnboardingStatusSerializer
from onboarding.models import OnboardingRun
from onboarding.selectors import (
    onboarding_document_ids,
    onboarding_last_run,
    onboarding_runs_of,
    onboarding_state_of,
)
from onboarding.services import onboard_user


def _status_body(user: User) -> dict:
    state = onboarding_state_of(user)
    return {
        "status": state.status,
        "blueprint_version": state.blueprint_version,
        "attempts": state.attempts,
        "resources": {
            "space_id": state.space_id,
            "notebook_id": state.notebook_id,
            "document_ids": onboarding_document_ids(state),
            "agent_id": state.agent_id,
        },
        "last_run": onboarding_last_run(user),
    }


class OnboardingStatusView(APIView):
    @extend_schema(responses=OnboardingStatusSerializer, operation_id="users_me_onboarding_status")
    def get(self, request: Request) -> Response:
        return Response(OnboardingStatusSerializer(_status_body(request.user)).data)


class OnboardingRunListView(GenericAPIView):
    """The caller's onboarding runs, newest first, each with its steps.

    Every run is there: the one a killed process left shows as ``running`` until a later run of the
    user closes it as ``failed`` (``onboarding.recording``), and runs that found the onboarding
    completed show as ``skipped``.
    """

    serializer_class = OnboardingRunSerializer

    @extend_schema(responses=OnboardingRunSerializer(many=True), operation_id="users_me_onboarding_runs")
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(onboarding_runs_of(request.user))
        return self.get_paginated_response(OnboardingRunSerializer(page, many=True).data)


class OnboardingRetryView(APIView):
    """Run onboarding now, even after it completed: it creates only what is missing.

    Safe to call any number of times, at once or in a row: runs for one user are serialised by the
    service and recognise what exists by its onboarding key. With a bearer token, a user whose
    onboarding is incomplete is onboarded once when the token is authenticated and once more by this
    call; ``attempts`` counts only runs that did something (a run that found the onboarding already
    completed and skipped is not an attempt). Each call runs a forced onboarding, hence its own
    throttle (``ONBOARDING_RETRY_THROTTLE``) besides the API's.
    """

    throttle_classes = [ApiThrottle, OnboardingRetryThrottle]

    @extend_schema(
        request=None, responses=OnboardingStatusSerializer, operation_id="users_me_onboarding_retry"
    )
    def post(self, request: Request) -> Response:
        onboard_user(user=request.user, trigger=OnboardingRun.Trigger.RETRY, actor=request.user, force=True)
        return Response(OnboardingStatusSerializer(_status_body(request.user)).data)
