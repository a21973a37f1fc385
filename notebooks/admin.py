"""Admin for notebooks, documents and agents: searchable lists that run a fixed number of queries."""

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from aether.admin_site import LockedDeleteMixin
from notebooks.models import Agent, Document, Notebook
from notebooks.services import agent_knowledge


class MadeByOnboardingFilter(admin.SimpleListFilter):
    """Separates what onboarding created (it carries an ``onboarding_key``) from what people made."""

    title = "origin"
    parameter_name = "origin"

    def lookups(self, request, model_admin):
        return (("onboarding", "Created by onboarding"), ("user", "Created by people"))

    def queryset(self, request, queryset):
        if self.value() == "onboarding":
            return queryset.filter(onboarding_key__isnull=False)
        if self.value() == "user":
            return queryset.filter(onboarding_key__isnull=True)
        return queryset


class DocumentInline(admin.TabularInline):
    model = Document
    extra = 0
    fields = ("name", "mime_type", "size_bytes", "onboarding_key", "created_at")
    readonly_fields = ("size_bytes", "onboarding_key", "created_at")
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Notebook | None = None) -> bool:
        # Documents come from their users, with their content; the admin inspects them.
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        # The list never shows contents, which may be megabytes each.
        return super().get_queryset(request).defer("content")


@admin.register(Notebook)
class NotebookAdmin(LockedDeleteMixin, admin.ModelAdmin):
    list_display = ("name", "space", "owner", "visibility", "document_count", "updated_at")
    list_filter = ("visibility", MadeByOnboardingFilter, "space__type", "updated_at")
    search_fields = ("name", "description", "owner__email", "owner__username", "space__name")
    list_select_related = ("space", "owner")
    autocomplete_fields = ("space", "owner")
    readonly_fields = ("onboarding_key", "created_at", "updated_at")
    inlines = (DocumentInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notebook]:
        return super().get_queryset(request).annotate(document_count=Count("documents", distinct=True))

    @admin.display(description="documents", ordering="document_count")
    def document_count(self, notebook: Notebook) -> int:
        return notebook.document_count


class DocumentChangeList(ChangeList):
    """The document list, without loading contents (only the change form shows them)."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: object = None) -> QuerySet[Document]:
        return super().get_queryset(request, exclude_parameters).defer("content")


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("name", "notebook", "notebook_owner", "mime_type", "size_bytes", "created_at")
    list_filter = ("mime_type", MadeByOnboardingFilter, "created_at")
    search_fields = ("name", "notebook__name", "notebook__owner__email", "notebook__owner__username")
    list_select_related = ("notebook__owner",)
    autocomplete_fields = ("notebook",)
    # Documents are edited by their users, where size_bytes follows the content; the admin inspects.
    readonly_fields = ("content", "size_bytes", "onboarding_key", "created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_changelist(self, request: HttpRequest, **kwargs: object) -> type[ChangeList]:
        return DocumentChangeList

    @admin.display(description="owner", ordering="notebook__owner__email")
    def notebook_owner(self, document: Document) -> str:
        return str(document.notebook.owner)


class AgentForm(forms.ModelForm):
    class Meta:
        model = Agent
        # The admin builds the form with every field it shows; these two are the ones clean() needs.
        fields = ("space", "knowledge_notebooks")

    def clean(self) -> dict:
        cleaned = super().clean()
        space, notebooks = cleaned.get("space"), cleaned.get("knowledge_notebooks")
        if space is not None and notebooks is not None:
            try:
                # The rule agent_create/agent_update apply.
                agent_knowledge(space=space, notebook_ids=[notebook.pk for notebook in notebooks])
            except ValidationError:
                # Staff see every space's notebooks: say what is wrong rather than which ids.
                self.add_error("knowledge_notebooks", "Knowledge notebooks must be in the agent's space.")
        return cleaned


@admin.register(Agent)
class AgentAdmin(LockedDeleteMixin, admin.ModelAdmin):
    form = AgentForm
    list_display = ("name", "space", "owner", "type", "model", "created_at")
    list_filter = ("type", "model", MadeByOnboardingFilter, "created_at")
    search_fields = ("name", "description", "owner__email", "owner__username", "space__name")
    list_select_related = ("space", "owner")
    autocomplete_fields = ("space", "owner", "knowledge_notebooks")
    readonly_fields = ("onboarding_key", "created_at", "updated_at")
