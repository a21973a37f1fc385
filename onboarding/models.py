"""What new users receive (the blueprint), each user's onboarding state, and the record of every run."""

import string
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from aether.request_id import REQUEST_ID_MAX_LENGTH
from notebooks.models import Agent, Notebook
from notebooks.validators import DESCRIPTION_MAX_LENGTH, SYSTEM_PROMPT_MAX_LENGTH, validate_tags
from onboarding.steps import step_choices


def validate_space_name_template(value: str) -> None:
    """The personal space's name: text with the ``{name}`` placeholder, and no other placeholder or brace.

    Checked by parsing, never by formatting: ``str.format`` would also accept ``{name.__class__}``,
    ``{name[0]}`` or ``{name:>300}``, which read attributes or pad the name beyond any limit.
    """
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError:
        raise ValidationError(
            "Braces are only for the {name} placeholder: remove the lone “{” or “}”.", code="invalid"
        ) from None
    placeholders = 0
    for _text, field_name, format_spec, conversion in parts:
        if field_name is None:
            continue
        if field_name != "name" or format_spec or conversion:
            written = "{" + field_name + (f"!{conversion}" if conversion else "")
            written += (f":{format_spec}" if format_spec else "") + "}"
            raise ValidationError(
                f"Unknown placeholder {written}: the only one is {{name}}, the user's name.", code="invalid"
            )
        placeholders += 1
    if "{{" in value or "}}" in value:
        raise ValidationError(
            "Braces are only for the {name} placeholder: remove the “{{” or “}}”.", code="invalid"
        )
    if not placeholders:
        raise ValidationError("The template must contain {name}, the user's name.", code="invalid")


class Blueprint(models.Model):
    """One version of what every new user receives.

    Versions are never edited: a change is saved as a new version, so every run can say which
    content it used and older versions stay readable. The highest version is the current one.
    """

    version = models.PositiveIntegerField(unique=True, editable=False)
    space_name_template = models.CharField(
        max_length=200,
        default="{name}'s Personal Space",
        validators=[validate_space_name_template],
        help_text="Name of the personal space; {name} is replaced by the user's name.",
    )
    notebook_name = models.CharField(max_length=200)
    notebook_description = models.TextField(
        blank=True, validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)]
    )
    notebook_tags = models.JSONField(default=list, blank=True, validators=[validate_tags])
    notebook_visibility = models.CharField(
        max_length=20, choices=Notebook.Visibility.choices, default=Notebook.Visibility.PRIVATE
    )
    agent_name = models.CharField(max_length=200)
    agent_description = models.TextField(blank=True, validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)])
    agent_type = models.CharField(max_length=20, choices=Agent.Type.choices, default=Agent.Type.QA)
    agent_model = models.CharField(max_length=100, default="gpt-4")
    agent_temperature = models.FloatField(
        default=0.7, validators=[MinValueValidator(0.0), MaxValueValidator(2.0)]
    )
    agent_max_tokens = models.PositiveIntegerField(
        default=2000, validators=[MinValueValidator(1), MaxValueValidator(128_000)]
    )
    agent_system_prompt = models.TextField(
        blank=True, validators=[MaxLengthValidator(SYSTEM_PROMPT_MAX_LENGTH)]
    )
    agent_tags = models.JSONField(default=list, blank=True, validators=[validate_tags])
    change_note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        get_latest_by = "version"
        constraints = [
            models.CheckConstraint(condition=~Q(notebook_name=""), name="onboarding_blueprint_notebook_name"),
            models.CheckConstraint(condition=~Q(agent_name=""), name="onboarding_blueprint_agent_name"),
            models.CheckConstraint(
                condition=Q(agent_type__in=Agent.Type.values),
                name="onboarding_blueprint_agent_type_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Blueprint v{self.version}"


class BlueprintDocument(models.Model):
    """A sample document of a blueprint version; ``key`` stays the same across versions."""

    blueprint = models.ForeignKey(Blueprint, on_delete=models.CASCADE, related_name="documents")
    key = models.SlugField(
        max_length=100,
        help_text="Stable identifier: the document a user received is recognised by it after a rename.",
    )
    name = models.CharField(max_length=255)
    content = models.TextField()
    order = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["blueprint", "order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["blueprint", "key"], name="onboarding_blueprintdoc_key"),
            models.UniqueConstraint(fields=["blueprint", "name"], name="onboarding_blueprintdoc_name"),
            models.CheckConstraint(condition=~Q(name=""), name="onboarding_blueprintdoc_name_set"),
        ]

    def __str__(self) -> str:
        return self.name


class OnboardingStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class UserOnboarding(models.Model):
    """A user's onboarding state and links to what onboarding created for them.

    No row until a run first ends. Runs write it only while holding the user's row lock
    (``onboarding.recording.lock_onboarding_of``), so concurrent runs for one user take turns.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="onboarding",
    )
    status = models.CharField(
        max_length=20, choices=OnboardingStatus.choices, default=OnboardingStatus.NOT_STARTED
    )
    attempts = models.PositiveIntegerField(default=0)
    blueprint_version = models.PositiveIntegerField(null=True, blank=True)
    space = models.ForeignKey(
        "accounts.Space", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notebook = models.ForeignKey(
        "notebooks.Notebook", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent = models.ForeignKey(
        "notebooks.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    notice_dismissed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the user dismissed the dashboard's note that their workspace is ready.",
    )
    last_error = models.TextField(blank=True)
    received = models.JSONField(
        default=dict,
        blank=True,
        help_text="The sample documents the user received, by key: the version each came from, its name "
        "and its text's SHA-256 then. Roll-outs read it to keep what the user renamed, edited or deleted.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "user onboarding"
        # The admin's "Re-run onboarding" (action and button): it creates what is missing, for anyone.
        permissions = [("rerun_onboarding", "Can re-run onboarding")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OnboardingStatus.values),
                name="onboarding_useronboarding_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_status_display()}"


class RunTrigger(models.TextChoices):
    LOGIN = "login", "Browser sign-in"
    API = "api", "API bearer token"
    RETRY = "retry", "Retry by the user"
    ADMIN = "admin", "Admin action"
    COMMAND = "command", "Management command"
    ROLLOUT = "rollout", "Roll-out of a blueprint version"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped (already completed)"


class OnboardingRun(models.Model):
    """One attempt to onboard a user, kept even when its resources were rolled back."""

    # Module-level so that Meta's constraints can list their values.
    Trigger = RunTrigger
    Status = RunStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by onboarding_run_user_started, whose first column it is.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="onboarding_runs", db_index=False
    )
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    forced = models.BooleanField(default=False)
    blueprint_version = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    failed_step = models.CharField(max_length=30, blank=True)
    error = models.TextField(blank=True)
    timed_out = models.BooleanField(
        default=False, help_text="The run failed because it outlasted ONBOARDING_TIMEOUT_SECONDS."
    )
    created = models.JSONField(default=dict, blank=True, help_text="How many resources each step created.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # onboarding_run_actor indexes the runs that have one
        help_text="The staff user or user who started the run, when not the sign-in itself.",
    )
    request_id = models.CharField(
        max_length=REQUEST_ID_MAX_LENGTH,
        blank=True,
        help_text="The id of the request that started the run (its X-Request-ID, in every log line of "
        "that request); empty for runs started by a command.",
    )

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["user", "-started_at"], name="onboarding_run_user_started"),
            models.Index(fields=["status", "-started_at"], name="onboarding_run_status"),
            # Sign-ins start most runs, without an actor: no index entry for those.
            models.Index(fields=["actor"], condition=Q(actor__isnull=False), name="onboarding_run_actor"),
            # The newest runs first (the runs admin) and the runs of a period (the overview).
            models.Index(fields=["-started_at"], name="onboarding_run_started"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(trigger__in=RunTrigger.values),
                name="onboarding_run_trigger_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values),
                name="onboarding_run_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} run for {self.user} ({self.status})"


class OnboardingStep(models.Model):
    """What one of a run's steps (``onboarding.steps``) did."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        ROLLED_BACK = "rolled_back", "Rolled back"
        NOT_RUN = "not_run", "Not run"

    # Indexed by onboarding_step_unique_name, whose first column it is.
    run = models.ForeignKey(OnboardingRun, on_delete=models.CASCADE, related_name="steps", db_index=False)
    # The steps' names and labels, read from their definitions when needed: a new step is no migration.
    name = models.CharField(max_length=30, choices=step_choices)
    position = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "name"], name="onboarding_step_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.get_name_display()}: {self.get_status_display()}"


class RolloutStatus(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"
    COMPLETED = "completed", "Completed"


# A roll-out in one of these has not ended: no other may start until it does.
ROLLOUT_UNFINISHED = (RolloutStatus.RUNNING, RolloutStatus.PAUSED)


class Rollout(models.Model):
    """Bringing the users onboarded with older blueprint versions up to one version, in the background.

    The users it reaches are fixed when it starts (``RolloutUser``); a worker takes them in batches,
    each user in a transaction of their own. ``ticket`` names the one task allowed to work on it next,
    and ``heartbeat_at`` says when that task last showed it was alive: a roll-out whose heartbeat is
    older than the lease is picked up again with a new ticket (``onboarding.rollouts``).
    """

    Status = RolloutStatus

    blueprint = models.ForeignKey(Blueprint, on_delete=models.PROTECT, related_name="rollouts")
    to_version = models.PositiveIntegerField()
    from_versions = models.JSONField(
        default=list, help_text="The versions its users were on when it started."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0, help_text="Users it reaches, counted when it started.")
    batch_size = models.PositiveIntegerField(default=200)
    ticket = models.UUIDField(null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = "roll-out"
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RolloutStatus.values), name="onboarding_rollout_status"
            ),
            # One unfinished roll-out at a time, whoever starts it from wherever: an index on a constant.
            models.UniqueConstraint(
                models.Value(True),
                condition=Q(status__in=ROLLOUT_UNFINISHED),
                name="onboarding_rollout_one_at_a_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Roll-out of version {self.to_version} ({self.get_status_display().lower()})"


class RolloutUser(models.Model):
    """A user a roll-out reaches, and what became of them."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    rollout = models.ForeignKey(Rollout, on_delete=models.CASCADE, related_name="users", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    from_version = models.PositiveIntegerField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    run = models.ForeignKey(OnboardingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rollout", "user"], name="onboarding_rolloutuser_once"),
        ]
        indexes = [
            # The next batch: the pending users of a roll-out, in order.
            models.Index(
                fields=["rollout", "user"],
                condition=Q(outcome="pending"),
                name="onboarding_rolloutuser_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.rollout}: {self.outcome}"
