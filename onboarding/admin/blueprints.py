"""The blueprint admin: every save publishes a new version; earlier versions stay readable, unchanged.

Django's admin edits rows in place, and a blueprint version is never edited. So the change form of
the current version is a draft of the next one: the form and the documents inline are validated
together by ``blueprint_validate`` (its errors appear on the form), and saving publishes them with
``blueprint_create_version``. Older versions are view-only; nothing is ever deleted, since every run
records the version it used.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet, Subquery
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from onboarding.blueprints import (
    BLUEPRINT_FIELDS,
    blueprint_check_based_on,
    blueprint_create_version,
    blueprint_lock_publishing,
    blueprint_validate,
)
from onboarding.models import Blueprint, BlueprintDocument
from onboarding.selectors import blueprint_preview


class TagsField(forms.CharField):
    """Tags typed as a comma-separated list, stored as a JSON list."""

    def prepare_value(self, value: object) -> object:
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value: object) -> list[str]:
        text = super().to_python(value)
        return [tag.strip() for tag in text.split(",") if tag.strip()]


class BlueprintForm(forms.ModelForm):
    notebook_tags = TagsField(required=False, help_text="Comma-separated, e.g. welcome, onboarding.")
    agent_tags = TagsField(required=False, help_text="Comma-separated.")
    # The version this edit started from (0: none yet); a newer one published meanwhile makes it stale.
    based_on_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    class Meta:
        model = Blueprint
        fields = (*BLUEPRINT_FIELDS, "change_note")
        labels = {"change_note": "Change note"}
        help_texts = {"change_note": "Why this version exists; saved with the new version."}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # The note describes the version being published, not the one it starts from.
        if self.instance.pk and "change_note" in self.fields:
            self.initial["change_note"] = ""
        if "based_on_version" in self.fields:
            self.fields["based_on_version"].initial = self.instance.version if self.instance.pk else 0

    def clean(self) -> dict:
        cleaned = super().clean()
        based_on = cleaned.get("based_on_version")
        if based_on is None:
            return cleaned
        if self.instance.pk and based_on != self.instance.version:
            raise ValidationError("This page does not match the version it edits; reload it.", code="stale")
        # The admin runs the whole save in one transaction: the lock taken here is held until the
        # new version is committed, so no other publication can come between this check and it.
        blueprint_lock_publishing()
        blueprint_check_based_on(based_on)
        return cleaned


class BlueprintDocumentForm(forms.ModelForm):
    class Meta:
        model = BlueprintDocument
        fields = ("name", "content", "order")
        widgets = {"content": forms.Textarea(attrs={"rows": 8, "cols": 80})}

    def validate_unique(self) -> None:
        # Uniqueness within the new version is checked by blueprint_validate over all documents;
        # the rows of the version being edited must not count against it (say, swapped names).
        return


class BlueprintDocumentFormSet(BaseInlineFormSet):
    """The sample documents of the next version, validated with its fields by ``blueprint_validate``."""

    def clean(self) -> None:
        self.documents: list[dict[str, object]] = []
        if any(self.errors):
            return
        for form in self.forms:
            if self._should_delete_form(form) or not form.cleaned_data:
                continue
            existing = form.instance.pk is not None
            if not existing and not form.has_changed():
                continue
            self.documents.append(
                {
                    # A document keeps its key from version to version: users' copies are found by it.
                    "key": form.instance.key if existing else "",
                    "name": form.cleaned_data["name"],
                    "content": form.cleaned_data["content"],
                    "order": form.cleaned_data["order"],
                }
            )
        fields = {name: getattr(self.instance, name) for name in BLUEPRINT_FIELDS}
        try:
            blueprint_validate(fields=fields, documents=self.documents)
        except ValidationError as exc:
            # Field errors are already on the blueprint form itself; the inline shows its own.
            if "documents" in exc.message_dict:
                raise ValidationError(exc.message_dict["documents"]) from None

    def validate_unique(self) -> None:
        return


class BlueprintDocumentInline(admin.StackedInline):
    model = BlueprintDocument
    form = BlueprintDocumentForm
    formset = BlueprintDocumentFormSet
    verbose_name = "sample document"
    verbose_name_plural = "sample documents (the user receives them in this order)"
    fields = ("key", "name", "order", "content")
    readonly_fields = ("key",)
    extra = 0
    ordering = ("order", "name")

    # Documents are part of their version: editable exactly when the version is.
    def has_add_permission(self, request: HttpRequest, obj: Blueprint | None = None) -> bool:
        return self.parent_admin().has_change_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Blueprint | None = None) -> bool:
        return self.parent_admin().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Blueprint | None = None) -> bool:
        return self.parent_admin().has_change_permission(request, obj)

    def has_view_permission(self, request: HttpRequest, obj: Blueprint | None = None) -> bool:
        return self.parent_admin().has_view_permission(request, obj)

    def parent_admin(self) -> "BlueprintAdmin":
        return self.admin_site.get_model_admin(Blueprint)


@admin.register(Blueprint)
class BlueprintAdmin(admin.ModelAdmin):
    form = BlueprintForm
    inlines = (BlueprintDocumentInline,)
    list_display = (
        "version",
        "is_current",
        "notebook_name",
        "document_count",
        "agent_name",
        "change_note",
        "created_by",
        "created_at",
    )
    list_select_related = ("created_by",)
    search_fields = ("change_note", "notebook_name", "agent_name")
    readonly_fields = ("version", "preview", "created_by", "created_at")
    fieldsets = (
        ("Version", {"fields": ("version", "change_note", "created_by", "created_at", "based_on_version")}),
        ("What a new user receives", {"fields": ("preview",)}),
        ("Personal space", {"fields": ("space_name_template",)}),
        ("Notebook", {"fields": tuple(f for f in BLUEPRINT_FIELDS if f.startswith("notebook_"))}),
        ("Agent", {"fields": tuple(f for f in BLUEPRINT_FIELDS if f.startswith("agent_"))}),
    )

    class Media:
        css = {"all": ("onboarding/admin.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Blueprint]:
        newest = Blueprint.objects.order_by("-version").values("version")[:1]
        return (
            super()
            .get_queryset(request)
            .annotate(
                document_count=Count("documents"),
                is_current_version=ExpressionWrapper(Q(version=Subquery(newest)), BooleanField()),
            )
        )

    def current_pk(self, request: HttpRequest) -> int | None:
        """The current version's id, looked up once per request (permission checks ask often)."""
        if not hasattr(request, "_current_blueprint_pk"):
            request._current_blueprint_pk = (
                Blueprint.objects.order_by("-version").values_list("pk", flat=True).first()
            )
        return request._current_blueprint_pk

    def has_add_permission(self, request: HttpRequest) -> bool:
        # New versions start from the current one (its change form); from scratch only when none exists.
        return super().has_add_permission(request) and self.current_pk(request) is None

    def has_change_permission(self, request: HttpRequest, obj: Blueprint | None = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        if obj is None or obj.pk == self.current_pk(request):
            return True
        # A save from the page of a version that is no longer current reaches the form, which
        # refuses it as stale and shows what was typed, rather than a bare 403.
        return request.method == "POST" and "based_on_version" in request.POST

    def has_delete_permission(self, request: HttpRequest, obj: Blueprint | None = None) -> bool:
        return False

    def get_fieldsets(self, request: HttpRequest, obj: Blueprint | None = None) -> list:
        if obj is None:
            return [fieldset for fieldset in self.fieldsets if fieldset[0] != "What a new user receives"]
        return super().get_fieldsets(request, obj)

    def save_model(self, request: HttpRequest, obj: Blueprint, form: BlueprintForm, change: bool) -> None:
        """Nothing here: a version is published whole, with its documents, in ``save_related``."""

    def save_related(self, request: HttpRequest, form: BlueprintForm, formsets: list, change: bool) -> None:
        documents = next(fs for fs in formsets if isinstance(fs, BlueprintDocumentFormSet))
        published = blueprint_create_version(
            fields={name: form.cleaned_data[name] for name in BLUEPRINT_FIELDS},
            documents=documents.documents,
            actor=request.user,
            change_note=form.cleaned_data.get("change_note", ""),
            based_on_version=form.cleaned_data["based_on_version"],
        )
        # The form's instance becomes the published version, so the log entry, the message and
        # the redirect that follow name it rather than the version it started from.
        form.instance.pk = published.pk
        form.instance.refresh_from_db()

    def construct_change_message(
        self, request: HttpRequest, form: BlueprintForm, formsets: list, add: bool = False
    ) -> str:
        return f"Published version {form.instance.version}."

    def log_change(self, request: HttpRequest, obj: Blueprint, message: object) -> object:
        # A published version is a new object, even when it started as an edit of the current one.
        return self.log_addition(request, obj, message)

    def response_add(
        self, request: HttpRequest, obj: Blueprint, post_url_continue: object = None
    ) -> HttpResponse:
        return self._published(request, obj)

    def response_change(self, request: HttpRequest, obj: Blueprint) -> HttpResponse:
        return self._published(request, obj)

    def _published(self, request: HttpRequest, obj: Blueprint) -> HttpResponse:
        self.message_user(
            request,
            f"Published version {obj.version}: new users receive it from now on. Users onboarded "
            "before keep what they have until their onboarding is re-run; earlier versions stay readable.",
            messages.SUCCESS,
        )
        if "_continue" in request.POST:
            return HttpResponseRedirect(reverse("admin:onboarding_blueprint_change", args=[obj.pk]))
        return HttpResponseRedirect(reverse("admin:onboarding_blueprint_changelist"))

    def render_change_form(self, request: HttpRequest, context: dict, *args: object, **kwargs: object):
        context["show_save_and_add_another"] = False
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.display(description="current", boolean=True)
    def is_current(self, blueprint: Blueprint) -> bool:
        return blueprint.is_current_version

    @admin.display(description="documents", ordering="document_count")
    def document_count(self, blueprint: Blueprint) -> int:
        return blueprint.document_count

    @admin.display(description="preview")
    def preview(self, blueprint: Blueprint) -> SafeString:
        return render_to_string(
            "admin/onboarding/blueprint_preview.html", {"preview": blueprint_preview(blueprint)}
        )
