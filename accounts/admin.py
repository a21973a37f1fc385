"""Admin for users, spaces and memberships.

This module knows nothing about onboarding: the onboarding app extends ``UserAdmin`` with the
onboarding status, its filter, the "Re-run onboarding" action and the runs inline, and registers
that extension in place of this one (see ``onboarding/admin/users.py``).
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Membership, Space, User
from accounts.services import user_deactivate
from aether.admin_site import LockedDeleteMixin


def _sessions(count: int) -> str:
    return f"{count} session{'s' if count != 1 else ''}"


@admin.register(User)
class UserAdmin(LockedDeleteMixin, DjangoUserAdmin):
    list_display = ("email", "full_name", "username", "staff", "created")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "sub", "username", "full_name")
    ordering = ("-created_at",)
    readonly_fields = ("created_at", "updated_at", "last_login", "role_groups")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Identity", {"fields": ("sub", "email", "full_name")}),
        (
            "Permissions",
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "role_groups",
                    "user_permissions",
                )
            },
        ),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),
    )
    actions = ("deactivate_users",)
    # Who may do what: only superusers hand out staff, superuser, groups and permissions. A staff member
    # allowed to change users (granted by hand) must not be able to raise anyone's rights, their own included.
    rights_fields = ("is_staff", "is_superuser", "groups", "user_permissions")

    @admin.display(description="staff", boolean=True, ordering="is_staff")
    def staff(self, user: User) -> bool:
        return user.is_staff

    @admin.display(description="created", ordering="created_at")
    def created(self, user: User) -> str:
        return timezone.localtime(user.created_at).strftime("%Y-%m-%d %H:%M")

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> list:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        # Viewing only: the password's "Set password" button would lead to a page refused to them.
        return [
            (name, {**options, "fields": tuple(f for f in options["fields"] if f != "password")})
            for name, options in fieldsets
        ]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "is_active":
            field.help_text = (
                "Unticking it signs this user out everywhere at once: every browser session ends and "
                "their API tokens are refused. Prefer it to deleting the account."
            )
        return field

    def save_model(self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            # Unticking "Active" signs the user out everywhere at once, not at their next request.
            ended = user_deactivate(user=obj).sessions_ended
            self.message_user(request, f"Deactivated {obj}: {_sessions(ended)} ended.", messages.SUCCESS)

    @admin.action(description="Deactivate and end their sessions", permissions=["change"])
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Turn the selected users inactive and end every session they hold (not the acting user's)."""
        if queryset.filter(pk=request.user.pk).exists():
            self.message_user(
                request, "Your own account was left active: ask another administrator.", messages.WARNING
            )
        results = [user_deactivate(user=user) for user in queryset.exclude(pk=request.user.pk).order_by("pk")]
        changed = sum(result.was_active for result in results)
        ended = sum(result.sessions_ended for result in results)
        self.message_user(
            request,
            f"Deactivated {changed} user{'s' if changed != 1 else ''} "
            f"({len(results) - changed} already inactive); {_sessions(ended)} ended.",
            messages.SUCCESS,
        )

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return fields
        return (*fields, *(name for name in self.rights_fields if name not in fields))


class MembershipFormSet(BaseInlineFormSet):
    """The space's existing members, held to ``accounts.services``' rule: the last owner stays owner."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        owners_before = owners_after = 0
        for form in self.forms:
            if form.instance.pk is None:
                continue
            was_owner = form.initial.get("role", form.instance.role) == Membership.Role.OWNER
            owners_before += was_owner
            if self._should_delete_form(form):
                continue
            owners_after += form.cleaned_data.get("role", form.instance.role) == Membership.Role.OWNER
        if owners_before and not owners_after:
            # The same rule as member_change_role / member_remove: one change at a time, never ownerless.
            raise ValidationError(
                "The space's last owner cannot be removed or demoted; make another member owner first."
            )


class NewMembershipFormSet(BaseInlineFormSet):
    """New members: none in a personal space (``accounts.services`` refuses them too)."""

    def clean(self) -> None:
        super().clean()
        adding = [form for form in self.forms if form.has_changed() and not self._should_delete_form(form)]
        if adding and self.instance.is_personal:
            raise ValidationError("A personal space has no other members.")


class MembershipInline(admin.TabularInline):
    """The space's members: their roles can change here; new members are added below."""

    model = Membership
    formset = MembershipFormSet
    fields = ("user", "role", "created_at")
    # Shown as text, not an autocomplete widget, which would run one query per member to label itself.
    readonly_fields = ("user", "created_at")
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        # Each row is labelled "<user> in <space>": both are read here, not once per row.
        return super().get_queryset(request).select_related("user", "space")

    def has_add_permission(self, request: HttpRequest, obj: Space | None = None) -> bool:
        return False


class NewMembershipInline(admin.TabularInline):
    """Blank rows to add members, with a user search."""

    model = Membership
    formset = NewMembershipFormSet
    fields = ("user", "role")
    autocomplete_fields = ("user",)
    extra = 1
    verbose_name = "new member"
    verbose_name_plural = "add members"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).none()

    def has_change_permission(self, request: HttpRequest, obj: Space | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Space | None = None) -> bool:
        return False


@admin.register(Space)
class SpaceAdmin(LockedDeleteMixin, admin.ModelAdmin):
    list_display = ("name", "type", "owner", "member_count", "created_at")
    list_filter = ("type", "created_at")
    search_fields = ("name", "owner__email", "owner__username", "owner__sub")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    readonly_fields = ("created_at", "updated_at")
    inlines = (MembershipInline, NewMembershipInline)

    def get_readonly_fields(self, request: HttpRequest, obj: Space | None = None) -> tuple[str, ...]:
        # A space's kind and owner are set when it is made: a personal space turned into an organization
        # (or handed to someone else) would break "one personal space per user" and the owner's membership.
        if obj is not None:
            return (*self.readonly_fields, "type", "owner")
        return self.readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Space]:
        return super().get_queryset(request).annotate(member_count=Count("memberships", distinct=True))

    @admin.display(description="members", ordering="member_count")
    def member_count(self, space: Space) -> int:
        return space.member_count


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "space", "role", "created_at")
    list_filter = ("role", "space__type", "created_at")
    search_fields = ("user__email", "user__username", "user__sub", "space__name")
    list_select_related = ("user", "space")
    autocomplete_fields = ("user", "space")
    readonly_fields = ("created_at",)
