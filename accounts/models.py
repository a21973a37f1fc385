"""Users, the spaces they work in, and their roles there."""

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group, UserManager
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q

from aether.validators import validate_name_characters

SPACE_DESCRIPTION_MAX_LENGTH = 10_000


class User(AbstractUser):
    """A person, known to Aether by the OpenID Connect ``sub`` of their provider.

    The ``sub`` is the only identity that counts: e-mail and username are copied from the claims at
    every sign-in and may change. Accounts created with ``createsuperuser`` have no ``sub``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sub = models.CharField(
        "OIDC subject",
        max_length=255,
        unique=True,
        null=True,
        blank=True,
        help_text="The provider's stable identifier of this person (the token's sub claim).",
    )
    email = models.EmailField("e-mail address", blank=True, db_index=True)
    email_verified = models.BooleanField(
        "e-mail verified",
        default=True,
        help_text="False when the provider says the address is unverified; only verified addresses "
        "can be used to add this person to a space.",
    )
    full_name = models.CharField(max_length=255, blank=True)
    role_groups = models.ManyToManyField(
        Group,
        blank=True,
        related_name="+",
        verbose_name="groups from sign-in roles",
        help_text="The groups sign-in put this user in for a provider role (OIDC_STAFF_ROLES, "
        "OIDC_ROLE_GROUPS); each is taken away when its role goes. Groups added by hand are not listed.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The provider owns names: one full name instead of Django's first/last pair.
    first_name = None
    last_name = None
    date_joined = None

    objects = UserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(condition=~Q(sub=""), name="accounts_user_sub_not_empty"),
        ]

    def __str__(self) -> str:
        return self.email or self.username

    def get_full_name(self) -> str:
        return self.full_name or self.username

    def get_short_name(self) -> str:
        return (self.full_name.split() or [self.username])[0]

    @property
    def display_name(self) -> str:
        """The name shown to people: full name, else the e-mail's local part, else the username."""
        if self.full_name:
            return self.full_name
        if self.email:
            return self.email.split("@", 1)[0]
        return self.username


def space_owner_on_delete(collector: Any, field: models.Field, sub_objs: Any, using: str) -> None:
    """``on_delete`` of ``Space.owner``: a personal space goes with its owner, an organization stays.

    Who owns an organization is recorded by its ``owner`` memberships; ``Space.owner`` only says who
    created it, so deleting that person must not delete the notebooks of everybody else there.
    """
    personal = sub_objs.filter(type=Space.Type.PERSONAL)
    organizations = sub_objs.exclude(type=Space.Type.PERSONAL)
    # Collected like CASCADE, without its "set to NULL first" step on databases that cannot defer
    # constraints, which a personal space's owner constraint would refuse.
    collector.collect(
        personal,
        source=field.remote_field.model,
        source_attr=field.name,
        nullable=False,
        fail_on_restricted=False,
    )
    models.SET_NULL(collector, field, organizations, using)


class Space(models.Model):
    """A place where notebooks and agents live: one personal space per user, any number of organizations."""

    class Type(models.TextChoices):
        PERSONAL = "personal", "Personal"
        ORGANIZATION = "organization", "Organization"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=20, choices=Type.choices)
    name = models.CharField(max_length=200, validators=[validate_name_characters])
    description = models.TextField(blank=True, validators=[MaxLengthValidator(SPACE_DESCRIPTION_MAX_LENGTH)])
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=space_owner_on_delete,
        null=True,
        blank=True,
        related_name="owned_spaces",
        help_text="A personal space's owner; an organization's creator (empty once deleted).",
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="spaces")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(type="personal"),
                name="accounts_space_one_personal_per_user",
                violation_error_message="This user already has a personal space.",
            ),
            models.CheckConstraint(
                condition=Q(type__in=["personal", "organization"]), name="accounts_space_type_valid"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="accounts_space_name_not_empty"),
            models.CheckConstraint(
                condition=~Q(type="personal") | Q(owner__isnull=False),
                name="accounts_space_personal_has_owner",
                violation_error_message="A personal space needs an owner.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_personal(self) -> bool:
        return self.type == self.Type.PERSONAL


class Membership(models.Model):
    """A user's role in a space."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        VIEWER = "viewer", "Viewer"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["space__name", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "space"],
                name="accounts_membership_unique",
                violation_error_message="This user is already a member of this space.",
            ),
            models.CheckConstraint(
                condition=Q(role__in=["owner", "admin", "member", "viewer"]),
                name="accounts_membership_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.space} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role != self.Role.VIEWER

    @property
    def can_manage_members(self) -> bool:
        return self.role in {self.Role.OWNER, self.Role.ADMIN}

    @property
    def grantable_roles(self) -> list[str]:
        """The roles this member may give or take away: all of them for an owner, all but ``owner``
        for an admin, none for anyone else."""
        if self.role == self.Role.OWNER:
            return list(self.Role.values)
        if self.role == self.Role.ADMIN:
            return [role for role in self.Role.values if role != self.Role.OWNER]
        return []


class BrowserSession(models.Model):
    """A signed-in browser session: whose it is, and the provider's session (``sid``) it came from.

    The session itself lives in whatever ``SESSION_ENGINE`` keeps it; this row is how Aether finds it
    again without the browser: by ``sid`` for one provider session, by user for all of theirs
    (back-channel logout, deactivation). A row whose session ended elsewhere is harmless and goes
    at the next ``manage.py prune_sessions``.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="browser_sessions"
    )
    session_key = models.CharField(max_length=255, unique=True)
    sid = models.CharField(
        "provider session id",
        max_length=255,
        blank=True,
        db_index=True,
        help_text="The ID token's sid claim (empty for a password sign-in).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(session_key=""), name="accounts_browsersession_key_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}'s session of {self.created_at:%Y-%m-%d %H:%M}"


class ConsumedLogoutToken(models.Model):
    """The ``jti`` of a logout token Aether acted on, refused if it comes again (a replay).

    Kept in the database, where every process and replica sees it, until ``expires_at``: the last
    moment the token itself could still be accepted, after which its age refuses it anyway.
    """

    id = models.BigAutoField(primary_key=True)
    jti = models.CharField(max_length=255, unique=True)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(jti=""), name="accounts_consumedlogouttoken_jti_not_empty"),
        ]

    def __str__(self) -> str:
        return self.jti
