"""Forms of the space and member pages. They shape input; ``accounts.services`` decides."""

from django import forms

from accounts.models import SPACE_DESCRIPTION_MAX_LENGTH, Membership, Space, User


class SpaceForm(forms.Form):
    name = forms.CharField(max_length=Space._meta.get_field("name").max_length, strip=True)
    description = forms.CharField(
        required=False, max_length=SPACE_DESCRIPTION_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )


def _role_choices(roles: list[str]) -> list[tuple[str, str]]:
    return [(role, Membership.Role(role).label) for role in roles]


class MemberAddForm(forms.Form):
    """Add someone by e-mail, with one of the roles the adding member may grant."""

    email = forms.EmailField(
        label="E-mail address",
        max_length=User._meta.get_field("email").max_length,
        help_text="Of someone who has signed in to Aether at least once.",
    )
    role = forms.ChoiceField(initial=Membership.Role.MEMBER)

    def __init__(self, *args: object, roles: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _role_choices(roles)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField()

    def __init__(self, *args: object, roles: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _role_choices(roles)
