from rest_framework import serializers

from accounts.models import User


class UserMeSerializer(serializers.ModelSerializer):
    """The signed-in user, as ``GET /api/v1/users/me`` answers."""

    personal_space_id = serializers.SerializerMethodField()
    onboarding_status = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "sub",
            "email",
            "username",
            "full_name",
            "is_staff",
            "personal_space_id",
            "onboarding_status",
            "created_at",
        ]
        read_only_fields = fields

    def get_personal_space_id(self, user: User) -> str | None:
        space = self.context["personal_space"]
        return str(space.pk) if space else None

    def get_onboarding_status(self, user: User) -> str:
        return self.context["onboarding_status"]
