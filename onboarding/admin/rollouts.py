"""Roll-outs in the admin: the list, each one's page with its progress updating by itself, and its buttons.

Whoever may read blueprints may read roll-outs; whoever may publish blueprint versions (the permission
to change blueprints, which "Onboarding managers" hold) may start, pause, resume and cancel them. The
page polls a small JSON view from a static script (the CSP allows scripts from this site only); every
button posts to a view that calls one service.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, re_path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from onboarding.admin.display import status_badge
from onboarding.models import ROLLOUT_UNFINISHED, Rollout, RolloutUser
from onboarding.rollouts import (
    RolloutRefused,
    rollout_cancel,
    rollout_pause,
    rollout_progress,
    rollout_resume,
    rollout_start,
)

ACTIONS = {"pause": rollout_pause, "resume": rollout_resume, "cancel": rollout_cancel}
DONE_WORDS = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}


def can_view_rollouts(request: HttpRequest) -> bool:
    return request.user.has_perm("onboarding.view_blueprint") or can_manage_rollouts(request)


def can_manage_rollouts(request: HttpRequest) -> bool:
    """Start, pause, resume, cancel: part of changing blueprints (CONTRACT, Admin)."""
    return request.user.has_perm("onboarding.change_blueprint")


@admin.register(Rollout)
class RolloutAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "status_label",
        "to_version",
        "from_label",
        "counts",
        "started_by",
        "started",
    )
    list_display_links = ("number",)
    list_filter = ("status",)
    list_select_related = ("started_by",)
    fields = (
        "status_label",
        "to_version",
        "from_label",
        "total",
        "started_by",
        "started_at",
        "finished_at",
        "batch_size",
        "heartbeat_at",
    )
    readonly_fields = fields
    change_form_template = "admin/onboarding/rollout_change_form.html"

    class Media:
        css = {"all": ("onboarding/admin.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Rollout]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                **{
                    f"n_{name}": Count("users", filter=Q(users__outcome=name))
                    for name in RolloutUser.Outcome.values
                }
            )
        )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("start/", view(require_POST(self.start_view)), name="onboarding_rollout_start"),
            path("<int:pk>/progress/", view(self.progress_view), name="onboarding_rollout_progress"),
            re_path(
                rf"^(?P<pk>[0-9]+)/(?P<action>{'|'.join(ACTIONS)})/$",
                view(require_POST(self.action_view)),
                name="onboarding_rollout_action",
            ),
            *super().get_urls(),
        ]

    def has_view_permission(self, request: HttpRequest, obj: Rollout | None = None) -> bool:
        return can_view_rollouts(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return can_view_rollouts(request)

    # A roll-out is started from the blueprint's page and changed by its buttons, never edited.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Rollout | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Rollout | None = None) -> bool:
        return False

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        rollout = get_object_or_404(Rollout, pk=object_id) if object_id.isdigit() else None
        context = dict(extra_context or {})
        if rollout is not None:
            context.update(
                progress=rollout_progress(rollout),
                can_manage=can_manage_rollouts(request),
                unfinished=rollout.status in ROLLOUT_UNFINISHED,
            )
        return super().change_view(request, object_id, form_url, extra_context=context)

    def start_view(self, request: HttpRequest) -> HttpResponse:
        if not can_manage_rollouts(request):
            raise PermissionDenied
        try:
            rollout = rollout_start(actor=request.user)
        except RolloutRefused as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:onboarding_rollout_changelist"))
        self.log_addition(request, rollout, f"Started rolling version {rollout.to_version} out.")
        self.message_user(
            request,
            f"Started rolling version {rollout.to_version} out to {rollout.total} users; a worker takes "
            "them in batches.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:onboarding_rollout_change", args=[rollout.pk]))

    def action_view(self, request: HttpRequest, pk: str, action: str) -> HttpResponse:
        if not can_manage_rollouts(request):
            raise PermissionDenied
        rollout = get_object_or_404(Rollout, pk=pk)
        try:
            ACTIONS[action](rollout=rollout)
        except RolloutRefused as refused:
            self.message_user(request, str(refused), messages.ERROR)
        else:
            self.log_change(request, rollout, f"{DONE_WORDS[action].capitalize()} the roll-out.")
            self.message_user(request, f"Roll-out {rollout.pk} {DONE_WORDS[action]}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:onboarding_rollout_change", args=[rollout.pk]))

    def progress_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        if not can_view_rollouts(request):
            raise PermissionDenied
        progress = rollout_progress(get_object_or_404(Rollout, pk=pk))
        return JsonResponse(progress.as_dict(), headers={"Cache-Control": "no-store"})

    @admin.display(description="roll-out", ordering="pk")
    def number(self, rollout: Rollout) -> str:
        return f"#{rollout.pk}"

    @admin.display(description="status", ordering="status")
    def status_label(self, rollout: Rollout):
        return status_badge(rollout.status, rollout.get_status_display())

    @admin.display(description="started", ordering="started_at")
    def started(self, rollout: Rollout) -> str:
        return f"{timezone.localtime(rollout.started_at):%Y-%m-%d %H:%M}"

    @admin.display(description="from versions")
    def from_label(self, rollout: Rollout) -> str:
        return ", ".join(str(version) for version in rollout.from_versions) or "-"

    @admin.display(description="done / failed / skipped / remaining")
    def counts(self, rollout: Rollout) -> str:
        return f"{rollout.n_done} / {rollout.n_failed} / {rollout.n_skipped} / {rollout.n_pending}"
