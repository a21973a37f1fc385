"""Notebooks of documents, and agents: stored configurations that name a model, its settings and
the notebooks it would draw on. Nothing here calls a model."""

import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from aether.validators import validate_name_characters
from notebooks.validators import (
    DESCRIPTION_MAX_LENGTH,
    SYSTEM_PROMPT_MAX_LENGTH,
    validate_metadata,
    validate_tags,
)

# Joins the searched fields in ``search_text``. Search queries refuse control characters, so a match
# never spans two fields (a query ", " would otherwise match the JSON text of any two tags).
SEARCH_SEPARATOR = "\x1f"
SEARCHED_FIELDS = frozenset({"name", "description", "tags"})


def notebook_search_text(name: str, description: str, tags: object) -> str:
    """What the notebook search matches: name, description and each tag, lower-cased."""
    tag_texts = [str(tag) for tag in tags] if isinstance(tags, list) else []
    return SEARCH_SEPARATOR.join([name or "", description or "", *tag_texts]).lower()


class Notebook(models.Model):
    """A named collection of documents in a space."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private"
        SHARED = "shared", "Shared"
        PUBLIC = "public", "Public"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    space = models.ForeignKey("accounts.Space", on_delete=models.CASCADE, related_name="notebooks")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notebooks")
    # Unique in its space, ignoring case: notebooks.services decides it (onboarding's own notebook
    # is the one exception, and is named before the user can name anything).
    name = models.CharField(max_length=200, validators=[validate_name_characters])
    description = models.TextField(blank=True, validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)])
    tags = models.JSONField(default=list, blank=True, validators=[validate_tags])
    visibility = models.CharField(max_length=20, choices=Visibility.choices, default=Visibility.PRIVATE)
    # NULL, not "": the partial unique constraints below apply only to onboarding-made rows.
    onboarding_key = models.CharField(  # noqa: DJ001
        max_length=100,
        null=True,
        blank=True,
        editable=False,
        help_text="Set on notebooks created by onboarding, so a later run recognises them after a rename.",
    )
    # What search matches (``notebook_search_text``), kept up to date by ``save()``. On PostgreSQL a
    # trigram GIN index on it (migration 0004, not listed in Meta because SQLite cannot build it)
    # serves the substring match of the notebook search.
    search_text = models.TextField(default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["space", "-updated_at"], name="notebook_space_updated")]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "onboarding_key"],
                condition=Q(onboarding_key__isnull=False),
                name="notebooks_notebook_one_onboarding_notebook",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="notebooks_notebook_name_not_empty"),
            models.CheckConstraint(
                condition=Q(visibility__in=["private", "shared", "public"]),
                name="notebooks_notebook_visibility_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is None or SEARCHED_FIELDS & set(update_fields):
            self.search_text = notebook_search_text(self.name, self.description, self.tags)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("notebook-detail", args=[self.pk])


class Document(models.Model):
    """A text document in a notebook, stored inline or as a file."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    notebook = models.ForeignKey(Notebook, on_delete=models.CASCADE, related_name="documents")
    name = models.CharField(max_length=255, validators=[validate_name_characters])
    mime_type = models.CharField(max_length=100, default="text/plain")
    size_bytes = models.PositiveBigIntegerField(default=0)
    content = models.TextField(blank=True)
    file = models.FileField(upload_to="documents/%Y/%m/", blank=True)
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_metadata])
    # NULL, not "": the partial unique constraints below apply only to onboarding-made rows.
    onboarding_key = models.CharField(  # noqa: DJ001
        max_length=100,
        null=True,
        blank=True,
        editable=False,
        help_text="Set on sample documents created by onboarding (the blueprint document's key).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["notebook", "created_at", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["notebook", "onboarding_key"],
                condition=Q(onboarding_key__isnull=False),
                name="notebooks_document_one_per_onboarding_key",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="notebooks_document_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("document-detail", args=[self.pk])

    def read_text(self) -> str:
        """The document's text, from the inline content or the stored file."""
        if self.content or not self.file:
            return self.content
        with self.file.open("rb") as stored:
            return stored.read().decode("utf-8", errors="replace")


class Agent(models.Model):
    """A stored agent configuration: type, model, sampling settings, system prompt and knowledge notebooks."""

    class Type(models.TextChoices):
        QA = "qa", "Question answering"
        CONVERSATIONAL = "conversational", "Conversational"
        PRODUCER = "producer", "Producer"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    space = models.ForeignKey("accounts.Space", on_delete=models.CASCADE, related_name="agents")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agents")
    name = models.CharField(max_length=200, validators=[validate_name_characters])
    description = models.TextField(blank=True, validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)])
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.QA)
    model = models.CharField(max_length=100, default="gpt-4", validators=[validate_name_characters])
    temperature = models.FloatField(default=0.7, validators=[MinValueValidator(0.0), MaxValueValidator(2.0)])
    max_tokens = models.PositiveIntegerField(
        default=2000, validators=[MinValueValidator(1), MaxValueValidator(128_000)]
    )
    system_prompt = models.TextField(blank=True, validators=[MaxLengthValidator(SYSTEM_PROMPT_MAX_LENGTH)])
    knowledge_notebooks = models.ManyToManyField(Notebook, blank=True, related_name="agents")
    tags = models.JSONField(default=list, blank=True, validators=[validate_tags])
    # NULL, not "": the partial unique constraints below apply only to onboarding-made rows.
    onboarding_key = models.CharField(  # noqa: DJ001
        max_length=100,
        null=True,
        blank=True,
        editable=False,
        help_text="Set on agents created by onboarding, so a later run recognises them after a rename.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "onboarding_key"],
                condition=Q(onboarding_key__isnull=False),
                name="notebooks_agent_one_onboarding_agent",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="notebooks_agent_name_not_empty"),
            models.CheckConstraint(
                condition=Q(type__in=["qa", "conversational", "producer"]),
                name="notebooks_agent_type_valid",
            ),
            models.CheckConstraint(
                condition=Q(temperature__gte=0) & Q(temperature__lte=2),
                name="notebooks_agent_temperature_range",
            ),
            models.CheckConstraint(
                condition=Q(max_tokens__gte=1) & Q(max_tokens__lte=128_000),
                name="notebooks_agent_max_tokens_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("agent-detail", args=[self.pk])
