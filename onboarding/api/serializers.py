from rest_framework import serializers

from onboarding.models import OnboardingRun, OnboardingStatus, OnboardingStep


class OnboardingStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = OnboardingStep
        fields = ["name", "status", "duration_ms", "error"]
        read_only_fields = fields


class OnboardingRunSerializer(serializers.ModelSerializer):
    steps = OnboardingStepSerializer(many=True, read_only=True)

    class Meta:
        model = OnboardingRun
        fields = ["id", "trigger", "status", "started_at", "finished_at", "duration_ms", "error", "steps"]
        read_only_fields = fields


class OnboardingResourcesSerializer(serializers.Serializer):
    space_id = serializers.UUIDField(allow_null=True)
    notebook_id = serializers.UUIDField(allow_null=True)
    document_ids = serializers.ListField(child=serializers.UUIDField())
    agent_id = serializers.UUIDField(allow_null=True)


class OnboardingStatusSerializer(serializers.Serializer):
    """``GET /api/v1/users/me/onboarding/status``: the user's state, what they received, the last run."""

    status = serializers.ChoiceField(choices=OnboardingStatus.choices)
    blueprint_version = serializers.IntegerField(allow_null=True)
    attempts = serializers.IntegerField()
    resources = OnboardingResourcesSerializer()
    last_run = OnboardingRunSerializer(allow_null=True)
