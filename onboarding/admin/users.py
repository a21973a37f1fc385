"""The user admin, extended with onboarding: status column and filter, the re-run action, the runs.

``accounts`` registers a plain ``UserAdmin`` and never imports onboarding; this module subclasses it
and registers the subclass in its place, as a project extends ``django.contrib.auth``'s own admin.
"""

from collections.abc import Iterable
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.defaultfilters import pluralize
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.admin import UserAdmin
from accounts.models import User
from onboarding.admin.display import admin_link, created_summary, status_badge, step_summary
from onboarding.admin.runs import ReadOnlyMixin
from onboarding.models import OnboardingRun, OnboardingStatus
from onboarding.selectors import onboarding_status_counts, status_filter
from onboarding.services import onboard_user
from onboarding.steps import step_named

RUNS_SHOWN = 20
# The most users the re-run action takes at once; the command is for more.
ACTION_LIMIT = 100


class OnboardingStatusFilter(admin.SimpleListFilter):
    title = "onboarding status"
    parameter_name = "onboarding_status"

    def lookups(self, request, model_admin):
        return OnboardingStatus.choices

    def queryset(self, request, queryset):
        if self.value() in OnboardingStatus.values:
            return queryset.filter(status_filter(self.value()))
        return queryset


class RecentRunsFormSet(BaseInlineFormSet):
    """The user's newest runs only: a user retried by a script may have thousands."""

    def get_queryset(self) -> QuerySet[OnboardingRun]:
        # Sliced once and kept, so the rows are read in one query however often the formset asks.
        if not hasattr(self, "_recent_runs"):
            self._recent_runs = super().get_queryset()[:RUNS_SHOWN]
        return self._recent_runs


class OnboardingRunInline(ReadOnlyMixin, admin.TabularInline):
    model = OnboardingRun
    fk_name = "user"
    formset = RecentRunsFormSet
    verbose_name_plural = f"onboarding runs (newest {RUNS_SHOWN})"
    fields = (
        "run",
        "trigger",
        "status_badge",
        "blueprint_version",
        "duration_ms",
        "steps",
        "failure",
        "actor",
    )
    readonly_fields = fields
    ordering = ("-started_at",)
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[OnboardingRun]:
        # Each row is labelled with its user, so the user is read with the runs, not once per row.
        return super().get_queryset(request).select_related("user", "actor").prefetch_related("steps")

    @admin.display(description="started")
    def run(self, run: OnboardingRun) -> SafeString:
        return admin_link(run, run.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"))

    @admin.display(description="status")
    def status_badge(self, run: OnboardingRun) -> SafeString:
        return status_badge(run.status, run.get_status_display())

    @admin.display(description="steps")
    def steps(self, run: OnboardingRun) -> SafeString:
        return step_summary(run)

    @admin.display(description="error")
    def failure(self, run: OnboardingRun) -> str:
        return f"{run.failed_step}: {run.error}" if run.failed_step else run.error


class OnboardingUserAdmin(UserAdmin):
    list_display = ("email", "full_name", "onboarding_status", "staff", "created")
    list_display_links = ("email", "full_name")
    list_filter = (OnboardingStatusFilter, *UserAdmin.list_filter)
    actions = (*UserAdmin.actions, "rerun_onboarding")
    inlines = (OnboardingRunInline,)
    change_list_template = "admin/onboarding/user_change_list.html"
    change_form_template = "admin/onboarding/user_change_form.html"
    onboarding_fields = ("onboarding_status", "onboarding_attempts", "onboarding_error", "all_runs")
    readonly_fields = (*UserAdmin.readonly_fields, *onboarding_fields)
    fieldsets = (*UserAdmin.fieldsets, ("Onboarding", {"fields": onboarding_fields}))

    class Media:
        css = {"all": ("onboarding/admin.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return (
            super()
            .get_queryset(request)
            .select_related("onboarding")
            .annotate(
                onboarding_status_value=Coalesce(F("onboarding__status"), Value(OnboardingStatus.NOT_STARTED))
            )
        )

    def get_urls(self) -> list[URLPattern]:
        rerun = path(
            "<path:object_id>/rerun-onboarding/",
            self.admin_site.admin_view(self.rerun_view),
            name="accounts_user_rerun_onboarding",
        )
        return [rerun, *super().get_urls()]

    def has_rerun_onboarding_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("onboarding.rerun_onboarding")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        counts = onboarding_status_counts()
        context = {
            "onboarding_counts": [
                (
                    status_badge(status, label),
                    counts[status],
                    f"?{OnboardingStatusFilter.parameter_name}={status}",
                )
                for status, label in OnboardingStatus.choices
            ],
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        context = {
            "can_rerun_onboarding": self.has_rerun_onboarding_permission(request),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context=context)

    @admin.display(description="onboarding", ordering="onboarding_status_value")
    def onboarding_status(self, user: User) -> SafeString:
        status = getattr(user, "onboarding_status_value", None) or OnboardingStatus.NOT_STARTED
        return status_badge(status, OnboardingStatus(status).label)

    @admin.display(description="attempts")
    def onboarding_attempts(self, user: User) -> int:
        state = getattr(user, "onboarding", None) if user.pk else None
        return state.attempts if state else 0

    @admin.display(description="last error")
    def onboarding_error(self, user: User) -> str:
        state = getattr(user, "onboarding", None) if user.pk else None
        return state.last_error if state else ""

    @admin.display(description="runs")
    def all_runs(self, user: User) -> SafeString | str:
        count = user.onboarding_runs.count() if user.pk else 0
        if not count:
            return "none yet"
        url = reverse("admin:onboarding_onboardingrun_changelist")
        label = "the 1 run" if count == 1 else f"all {count} runs"
        return format_html('<a href="{}?user__id__exact={}">See {}</a>', url, user.pk, label)

    @admin.action(description="Re-run onboarding", permissions=["rerun_onboarding"])
    def rerun_onboarding(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Create whatever is missing for the selected users, even those whose onboarding completed."""
        selected = queryset.count()
        if selected > ACTION_LIMIT:
            # Each run takes up to ONBOARDING_TIMEOUT_SECONDS within one request: past this, the
            # worker would time out halfway. The command has no such limit and shows its progress.
            self.message_user(
                request,
                f"{selected} users are selected; the admin re-runs onboarding for at most {ACTION_LIMIT} "
                "at a time. For more, run `manage.py onboard_user --force` with their e-mails or ids, "
                "or `manage.py onboard_user --all-incomplete`.",
                messages.ERROR,
            )
            return
        started_at = timezone.now()
        runs = self._rerun(request, queryset.order_by("pk"))
        failed = [run for run in runs if run.status == OnboardingRun.Status.FAILED]
        succeeded = len(runs) - len(failed)
        summary = f"Re-ran onboarding for {len(runs)} user{pluralize(len(runs))}: "
        summary += f"{succeeded} succeeded, {len(failed)} failed."
        if not failed:
            self.message_user(request, summary, messages.SUCCESS)
            return
        # A filter, not the runs' ids: a URL of a hundred ids is longer than servers accept.
        query = urlencode(
            {
                "status__exact": OnboardingRun.Status.FAILED,
                "trigger__exact": OnboardingRun.Trigger.ADMIN,
                "actor__id__exact": request.user.pk,
                "started_at__gte": started_at.isoformat(),
            }
        )
        url = reverse("admin:onboarding_onboardingrun_changelist")
        self.message_user(
            request,
            format_html('{} <a href="{}?{}">See the failed runs.</a>', summary, url, query),
            messages.WARNING,
        )

    def rerun_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The "Re-run onboarding" button of a user's page: one user, then back to that page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_rerun_onboarding_permission(request):
            raise PermissionDenied
        user = self.get_object(request, unquote(object_id))
        if user is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        (run,) = self._rerun(request, [user])
        if run.status == OnboardingRun.Status.FAILED:
            failed = step_named(run.failed_step)
            step = failed.label if failed else run.failed_step
            where = f" at the {step.lower()} step" if step else ""
            self.message_user(
                request,
                format_html(
                    "Re-ran onboarding for {}: it failed{}: {} {}",
                    user,
                    where,
                    run.error,
                    admin_link(run, "See the run."),
                ),
                messages.WARNING,
            )
        else:
            self.message_user(
                request,
                f"Re-ran onboarding for {user}: {run.get_status_display().lower()}; "
                f"created {created_summary(run.created)}.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))

    def _rerun(self, request: HttpRequest, users: Iterable[User]) -> list[OnboardingRun]:
        return [
            onboard_user(user=user, trigger=OnboardingRun.Trigger.ADMIN, actor=request.user, force=True)
            for user in users
        ]


admin.site.unregister(User)
admin.site.register(User, OnboardingUserAdmin)
