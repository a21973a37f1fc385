"""The blueprint admin: the versions, readable and never changed, and a page that publishes the next one.

A published version is never edited, so the admin shows every version read-only. "Publish a new
version" opens a page of its own, filled in from the current version (or from an older one, to go
back to it), that calls ``blueprint_create_version`` and shows its errors on the form. Publishing
needs the permission to change blueprints; nothing is ever deleted, since every run records the
version it used.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.safestring import SafeString

from onboarding.admin.blueprint_forms import BlueprintPublishing
from onboarding.admin.rollouts import can_manage_rollouts
from onboarding.blueprints import BLUEPRINT_FIELDS, blueprint_changes, blueprint_create_version
from onboarding.models import ROLLOUT_UNFINISHED, Blueprint, BlueprintDocument, Rollout
from onboarding.selectors import blueprint_current, blueprint_numbered, blueprint_preview
from onboarding.upgrades import rollout_preview

# The publish page's sections, in the order of what a new user receives.
PUBLISH_FIELDSETS = (
    ("Personal space", ("space_name_template",)),
    ("Notebook", tuple(name for name in BLUEPRINT_FIELDS if name.startswith("notebook_"))),
    ("Agent", tuple(name for name in BLUEPRINT_FIELDS if name.startswith("agent_"))),
)


class BlueprintDocumentInline(admin.StackedInline):
    """A version's sample documents, as read-only as the version."""

    model = BlueprintDocument
    verbose_name = "sample document"
    verbose_name_plural = "sample documents (the user receives them in this order)"
    fields = ("key", "name", "order", "content")
    readonly_fields = fields
    extra = 0
    ordering = ("order", "name")

    def has_add_permission(self, request: HttpRequest, obj: Blueprint | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Blueprint | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Blueprint | None = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Blueprint | None = None) -> bool:
        return self.admin_site.get_model_admin(Blueprint).has_view_permission(request, obj)


@admin.register(Blueprint)
class BlueprintAdmin(admin.ModelAdmin):
    inlines = (BlueprintDocumentInline,)
    list_display = ("version", "is_current", "change_note", "document_count", "created_by", "created_at")
    list_display_links = ("version",)
    list_select_related = ("created_by",)
    search_fields = ("change_note", "notebook_name", "agent_name")
    fieldsets = (
        ("Version", {"fields": ("version", "change_note", "created_by", "created_at")}),
        ("What a new user receives", {"fields": ("preview",)}),
        *((title, {"fields": names}) for title, names in PUBLISH_FIELDSETS),
    )
    readonly_fields = ("version", "preview", "created_by", "created_at", "change_note", *BLUEPRINT_FIELDS)
    change_list_template = "admin/onboarding/blueprint_change_list.html"
    change_form_template = "admin/onboarding/blueprint_change_form.html"

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

    def get_urls(self) -> list[URLPattern]:
        publish = path(
            "publish/", self.admin_site.admin_view(self.publish_view), name="onboarding_blueprint_publish"
        )
        return [publish, *super().get_urls()]

    # A version is published whole from the publish page, then never changed nor deleted.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Blueprint | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Blueprint | None = None) -> bool:
        return False

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("onboarding.change_blueprint")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        context = {"can_publish": self.has_publish_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        context = {"can_publish": self.has_publish_permission(request), **(extra_context or {})}
        current = blueprint_current()
        if current is not None and str(current.pk) == object_id:
            # The current version's page previews rolling it out to the users on older ones.
            context.update(
                rollout_preview=rollout_preview(current),
                unfinished_rollout=Rollout.objects.filter(status__in=ROLLOUT_UNFINISHED).first(),
                can_roll_out=can_manage_rollouts(request),
            )
        return super().change_view(request, object_id, form_url, extra_context=context)

    def publish_view(self, request: HttpRequest) -> HttpResponse:
        """Show the next version's form, filled in from a version; publish it when it is sent."""
        if not self.has_publish_permission(request):
            raise PermissionDenied
        current = blueprint_current()
        if request.method == "POST" and "_another_document" in request.POST:
            page = BlueprintPublishing.with_another_row(request.POST)
        elif request.method == "POST":
            page = BlueprintPublishing(request.POST)
            if page.is_valid():
                try:
                    published = blueprint_create_version(
                        fields=page.form.blueprint_fields(),
                        documents=page.document_inputs(),
                        actor=request.user,
                        change_note=page.form.cleaned_data["change_note"],
                        based_on_version=page.form.cleaned_data["based_on_version"],
                    )
                except ValidationError as exc:
                    page.show_errors(exc)
                else:
                    return self._published(request, published, previous=current)
        else:
            # The form starts from the current version, or from an older one to go back to it (?from=N).
            wanted = request.GET.get("from")
            start = current if wanted is None else self._version(wanted)
            if start is None and wanted is not None:
                self.message_user(
                    request,
                    f"There is no blueprint version “{wanted[:20]}”; this page starts from the current one.",
                    messages.ERROR,
                )
                return HttpResponseRedirect(reverse("admin:onboarding_blueprint_publish"))
            page = BlueprintPublishing(start=start, based_on=current.version if current else 0)
        return self._render_publish(request, page, current)

    def _version(self, number: str) -> Blueprint | None:
        if not (number.isdigit() and len(number) < 10):
            return None
        return blueprint_numbered(int(number))

    def _render_publish(self, request: HttpRequest, page: BlueprintPublishing, current: Blueprint | None):
        form = page.form
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Publish a new blueprint version",
            "page": page,
            "sections": [(title, [form[name] for name in names]) for title, names in PUBLISH_FIELDSETS],
            "current": current,
            "preview": blueprint_preview(current) if current else None,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/onboarding/blueprint_publish.html", context)

    def _published(self, request: HttpRequest, published: Blueprint, previous: Blueprint | None):
        changes = "; ".join(blueprint_changes(previous, published))
        self.log_addition(request, published, f"Published version {published.version}: {changes}.")
        self.message_user(
            request,
            f"Published version {published.version} ({changes}). New users receive it from now on; users "
            "onboarded before keep what they have until it is rolled out to them (from this version's page).",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:onboarding_blueprint_changelist"))

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
