"""The record of onboarding runs: read-only, filterable, each run with its steps."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.safestring import SafeString

from onboarding.admin.display import admin_link, created_summary, status_badge
from onboarding.models import OnboardingRun, OnboardingStep


class ReadOnlyMixin:
    """Runs and steps are history: staff can read them, nobody edits or deletes them here."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class OnboardingStepInline(ReadOnlyMixin, admin.TabularInline):
    model = OnboardingStep
    fields = ("name", "status_badge", "duration_ms", "created_count", "error")
    readonly_fields = fields
    extra = 0

    @admin.display(description="status")
    def status_badge(self, step: OnboardingStep) -> SafeString:
        return status_badge(step.status, step.get_status_display())


@admin.register(OnboardingRun)
class OnboardingRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    # Short columns, so the list fits a 1280-pixel screen beside its filters.
    list_display = (
        "started",
        "user_link",
        "trigger_label",
        "status_badge",
        "version",
        "duration",
        "failed_step",
        "actor",
    )
    list_filter = ("status", "trigger", ("started_at", admin.DateFieldListFilter), "forced", "failed_step")
    # A request id from a log line finds its run: exact match only, ids are never typed in part.
    search_fields = ("user__email", "user__username", "user__sub", "user__full_name", "=request_id")
    search_help_text = "Search by the user's e-mail, username, sub or name, or by a request id."
    list_select_related = ("user", "actor")
    date_hierarchy = "started_at"
    fields = (
        "user_link",
        "trigger",
        "status_badge",
        "forced",
        "actor",
        "request_id",
        "blueprint_version",
        "started_at",
        "finished_at",
        "duration_ms",
        "failed_step",
        "error",
        "created_words",
    )
    readonly_fields = fields
    inlines = (OnboardingStepInline,)

    class Media:
        css = {"all": ("onboarding/admin.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[OnboardingRun]:
        return super().get_queryset(request).select_related("user", "actor")

    @admin.display(description="started", ordering="started_at")
    def started(self, run: OnboardingRun) -> str:
        return timezone.localtime(run.started_at).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="trigger", ordering="trigger")
    def trigger_label(self, run: OnboardingRun) -> str:
        return f"{run.get_trigger_display()}{' (forced)' if run.forced else ''}"

    @admin.display(description="version", ordering="blueprint_version")
    def version(self, run: OnboardingRun) -> int | None:
        return run.blueprint_version

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, run: OnboardingRun) -> str | None:
        return f"{run.duration_ms} ms" if run.duration_ms is not None else None

    @admin.display(description="created")
    def created_words(self, run: OnboardingRun) -> str:
        if run.status == OnboardingRun.Status.FAILED:
            return "nothing: what the run made was rolled back"
        if run.status == OnboardingRun.Status.SKIPPED:
            return "nothing: onboarding had completed already"
        return created_summary(run.created)

    @admin.display(description="user", ordering="user__email")
    def user_link(self, run: OnboardingRun) -> SafeString:
        return admin_link(run.user)

    @admin.display(description="status", ordering="status")
    def status_badge(self, run: OnboardingRun) -> SafeString:
        return status_badge(run.status, run.get_status_display())
