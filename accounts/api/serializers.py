from rest_framework import serializers

from accounts.models import SPACE_DESCRIPTION_MAX_LENGTH, Membership, Space, User


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
        space_id = self.context["standing"].personal_space_id
        return str(space_id) if space_id else None

    def get_onboarding_status(self, user: User) -> str:
        return self.context["standing"].onboarding_status


class SpaceSerializer(serializers.Serializer):
    """A space as the caller sees it: with their role there (``membership`` is the instance)."""

    id = serializers.UUIDField(source="space.id")
    name = serializers.CharField(source="space.name")
    description = serializers.CharField(source="space.description")
    type = serializers.ChoiceField(source="space.type", choices=Space.Type.choices)
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    created_at = serializers.DateTimeField(source="space.created_at")


class MySpacesSerializer(serializers.Serializer):
    personal_space = SpaceSerializer(allow_null=True)
    organization_spaces = SpaceSerializer(many=True)
    current_space = SpaceSerializer(allow_null=True)


class SpaceCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=Space._meta.get_field("name").max_length)
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=SPACE_DESCRIPTION_MAX_LENGTH
    )


class MemberSerializer(serializers.Serializer):
    user_id = serializers.UUIDField()
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class MemberAddSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.MEMBER)


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)
