"""Reads about onboarding: the current blueprint, what a user received, and what is still missing."""

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from accounts.models import User
from accounts.selectors import personal_space_of
from notebooks.models import Agent, Document, Notebook
from onboarding.models import Blueprint, OnboardingRun, OnboardingStatus, UserOnboarding

# Resources created by onboarding carry these keys, so a later run recognises them after a rename.
NOTEBOOK_KEY = "onboarding"
AGENT_KEY = "onboarding"


def blueprint_current() -> Blueprint | None:
    """The newest blueprint version with its documents, or ``None`` when there is none."""
    return Blueprint.objects.prefetch_related("documents").order_by("-version").first()


def onboarding_notebook_of(user: User) -> Notebook | None:
    return Notebook.objects.filter(owner=user, onboarding_key=NOTEBOOK_KEY).first()


def onboarding_agent_of(user: User) -> Agent | None:
    return Agent.objects.filter(owner=user, onboarding_key=AGENT_KEY).first()


def sample_document_keys(notebook: Notebook, keys: list[str]) -> set[str]:
    """Which of the blueprint's document keys the notebook already holds (one query)."""
    return set(
        Document.objects.filter(notebook=notebook, onboarding_key__in=keys).values_list(
            "onboarding_key", flat=True
        )
    )


def onboarding_state_of(user: User) -> UserOnboarding:
    """The user's onboarding state, unsaved and ``not_started`` when nothing ran yet."""
    state = UserOnboarding.objects.select_related("space", "notebook", "agent").filter(user=user).first()
    return state or UserOnboarding(user=user)


def onboarding_last_run(user: User, *, with_steps: bool = True) -> OnboardingRun | None:
    """The user's newest run that did something: skipped runs stay in the record for the audit trail
    but say nothing about the user's onboarding. ``with_steps`` reads the steps along (the API shows them).
    """
    runs = OnboardingRun.objects.filter(user=user).exclude(status=OnboardingRun.Status.SKIPPED)
    if with_steps:
        runs = runs.prefetch_related("steps")
    return runs.order_by("-started_at").first()


def onboarding_last_completed_run(user: User) -> OnboardingRun | None:
    """The run that last completed the user's onboarding: how long it took is what the dashboard shows."""
    return (
        OnboardingRun.objects.filter(user=user, status=OnboardingRun.Status.COMPLETED)
        .order_by("-started_at")
        .first()
    )


def onboarding_document_ids(state: UserOnboarding) -> list:
    if state.notebook_id is None:
        return []
    return list(
        Document.objects.filter(notebook_id=state.notebook_id, onboarding_key__isnull=False)
        .order_by("created_at", "name")
        .values_list("id", flat=True)
    )


@dataclass
class OnboardingPlan:
    """What a run would create for a user now; empty lists mean nothing is missing."""

    blueprint_version: int | None
    personal_space: list[str] = field(default_factory=list)
    notebook: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    agent: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.personal_space or self.notebook or self.documents or self.agent)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "personal_space": self.personal_space,
            "notebook": self.notebook,
            "documents": self.documents,
            "agent": self.agent,
        }


def onboarding_plan(user: User, blueprint: Blueprint | None = None) -> OnboardingPlan:
    """Name what a forced run would create for ``user``, without changing anything."""
    blueprint = blueprint or blueprint_current()
    if blueprint is None:
        return OnboardingPlan(blueprint_version=None)
    plan = OnboardingPlan(blueprint_version=blueprint.version)
    if personal_space_of(user) is None:
        plan.personal_space.append(blueprint.space_name_template.format(name=user.display_name))
    notebook = onboarding_notebook_of(user)
    documents = list(blueprint.documents.all())
    if notebook is None:
        plan.notebook.append(blueprint.notebook_name)
        plan.documents.extend(document.name for document in documents)
    else:
        present = sample_document_keys(notebook, [document.key for document in documents])
        plan.documents.extend(d.name for d in documents if d.key not in present)
    if onboarding_agent_of(user) is None:
        plan.agent.append(blueprint.agent_name)
    return plan


def status_filter(status: str) -> Q:
    """Users whose onboarding status is ``status``; users without a state row have not started."""
    if status == OnboardingStatus.NOT_STARTED:
        return Q(onboarding__isnull=True) | Q(onboarding__status=status)
    return Q(onboarding__status=status)


def onboarding_status_counts() -> dict[str, int]:
    """How many users are in each onboarding status, every status present (one query)."""
    return User.objects.aggregate(
        **{status: Count("pk", filter=status_filter(status)) for status in OnboardingStatus.values}
    )


def users_with_incomplete_onboarding() -> QuerySet[User]:
    """Every user whose onboarding has not completed, by primary key."""
    return User.objects.exclude(onboarding__status=OnboardingStatus.COMPLETED).order_by("pk")


def user_batches(users: QuerySet[User], *, size: int = 500) -> Iterator[list[User]]:
    """``users`` in batches by primary key, each batch read when the previous one is done.

    Keyset pagination, not offsets: rows that leave the set while a batch is processed (an
    incomplete user who completes) do not shift the next batch.
    """
    last_pk = None
    while True:
        page = users.order_by("pk")
        if last_pk is not None:
            page = page.filter(pk__gt=last_pk)
        batch = list(page[:size])
        if not batch:
            return
        yield batch
        last_pk = batch[-1].pk


@dataclass(frozen=True)
class SampleDocumentPreview:
    name: str
    lines: int
    size_bytes: int
    first_line: str


@dataclass(frozen=True)
class BlueprintPreview:
    """What a new user would receive from a blueprint version, as they would see it."""

    blueprint: Blueprint
    space_name: str
    documents: list[SampleDocumentPreview]


def blueprint_preview(blueprint: Blueprint, *, example_name: str = "Ada Lovelace") -> BlueprintPreview:
    """A preview of ``blueprint`` for a new user called ``example_name``."""
    documents = sorted(blueprint.documents.all(), key=lambda d: (d.order, d.name))
    return BlueprintPreview(
        blueprint=blueprint,
        space_name=blueprint.space_name_template.format(name=example_name),
        documents=[
            SampleDocumentPreview(
                name=d.name,
                lines=len(d.content.splitlines()),
                size_bytes=len(d.content.encode("utf-8")),
                first_line=next((line for line in d.content.splitlines() if line.strip()), ""),
            )
            for d in documents
        ],
    )
