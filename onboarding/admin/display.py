"""Small renderings the onboarding admin pages share."""

from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from onboarding.models import OnboardingRun, OnboardingStep

# CSS classes from static/onboarding/admin.css: the admin runs under a strict CSP (no inline styles).
STATUS_CLASSES = {
    "completed": "ok",
    "succeeded": "ok",
    "failed": "bad",
    "running": "busy",
    "rolled_back": "muted",
    "not_run": "muted",
    "skipped": "muted",
    "not_started": "muted",
    "paused": "muted",
    "cancelled": "bad",
}


def status_badge(status: str, label: str) -> SafeString:
    return format_html(
        '<span class="onboarding-status onboarding-status-{}">{}</span>',
        STATUS_CLASSES.get(status, "muted"),
        label,
    )


def step_summary(run: OnboardingRun) -> SafeString:
    """The run's steps on one line each: name, status, duration, what it created or its error."""
    steps: list[OnboardingStep] = list(run.steps.all())
    if not steps:
        return format_html('<span class="onboarding-muted">{}</span>', "no steps (skipped)")
    items = [
        format_html(
            "<li>{} {} {}{}</li>",
            step.get_name_display(),
            status_badge(step.status, step.get_status_display()),
            f"{step.duration_ms} ms" if step.duration_ms is not None else "",
            format_html(", created {}", step.created_count)
            if step.created_count
            else format_html(": {}", step.error)
            if step.error
            else "",
        )
        for step in steps
    ]
    return format_html(
        '<ul class="onboarding-steps">{}</ul>', format_html_join("", "{}", ((i,) for i in items))
    )


def admin_link(obj: object, label: object = None) -> SafeString:
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj if label is None else label)


# What each step creates, in the singular, for sentences like "1 personal space, 3 documents".
CREATED_NOUNS = {
    "personal_space": "personal space",
    "notebook": "notebook",
    "documents": "document",
    "agent": "agent",
}


def created_summary(created: dict[str, int] | None) -> str:
    """A run's ``created`` counts as words: "1 notebook, 3 documents", or "nothing (all present)"."""
    created = created or {}
    # In the order of the steps: jsonb keeps keys sorted alphabetically.
    steps = [*CREATED_NOUNS, *sorted(set(created) - set(CREATED_NOUNS))]
    parts = [
        f"{count} {CREATED_NOUNS.get(step, step)}{pluralize(count)}"
        for step in steps
        if isinstance(count := created.get(step), int) and count
    ]
    return ", ".join(parts) or "nothing (all present)"
