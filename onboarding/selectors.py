"""Reads about onboarding: the current blueprint, what a user received, and what is still missing."""

import functools
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, FilteredRelation, OuterRef, Q, QuerySet

from accounts.models import Membership, Space, User
from aether.compiled_query import CompiledQuery
from notebooks.models import Agent, Document, Notebook
from onboarding import steps
from onboarding.models import Blueprint, BlueprintDocument, OnboardingRun, OnboardingStatus, UserOnboarding
from onboarding.steps import AGENT_KEY, NOTEBOOK_KEY, Sample, Workspace


def blueprint_current() -> Blueprint | None:
    """The newest blueprint version, or ``None`` when there is none (one short read, every time).

    Its sample documents are ``blueprint_samples(blueprint)``.
    """
    return Blueprint.objects.order_by("-version").first()


def blueprint_numbered(version: int) -> Blueprint | None:
    """The published version numbered ``version``, with its documents, or ``None``."""
    return Blueprint.objects.prefetch_related("documents").filter(version=version).first()


def blueprint_version_of(blueprint_id: int, version: int) -> Blueprint:
    """A published version by its id: read once per process, then kept (versions are never changed).

    The version is part of the key for the reason ``blueprint_samples`` gives.
    """
    return _blueprint(blueprint_id, version)


@functools.lru_cache(maxsize=16)
def _blueprint(blueprint_id: int, version: int) -> Blueprint:
    return Blueprint.objects.get(pk=blueprint_id, version=version)


def blueprint_samples(blueprint: Blueprint) -> tuple[Sample, ...]:
    """A version's sample documents, in order: read once per process, then kept.

    A published version is never changed (an edit publishes a new one), so what is kept cannot go
    stale; a version published a moment ago in another process has another key, and is read at its
    first use. The key holds the creation time too: a version number alone comes back when a
    transaction that published it rolls back.
    """
    return _samples(blueprint.pk, blueprint.version, blueprint.created_at)


@functools.lru_cache(maxsize=16)
def _samples(blueprint_id: int, version: int, created_at: datetime) -> tuple[Sample, ...]:
    documents = BlueprintDocument.objects.filter(blueprint_id=blueprint_id).order_by("order", "name")
    return tuple(Sample(key=d.key, name=d.name, content=d.content, order=d.order) for d in documents)


def onboarding_notebook_of(user: User) -> Notebook | None:
    return Notebook.objects.filter(owner=user, onboarding_key=NOTEBOOK_KEY).first()


def onboarding_agent_of(user: User) -> Agent | None:
    return Agent.objects.filter(owner=user, onboarding_key=AGENT_KEY).first()


def onboarding_workspace(user: User, blueprint: Blueprint) -> Workspace:
    """What onboarding finds for ``user``: their onboarding state, and the resources it made, by key.

    One query, and one more for the sample documents' keys when the notebook exists. Inside a run it
    follows the user's lock, so it sees whatever the run before this one committed.
    """
    found = _WHAT_ONBOARDING_FINDS_FOR_ONE.first(user_id=user.pk)
    if found is None:
        raise User.DoesNotExist("User matching query does not exist.")
    notebook_id = found["onboarding_notebook__id"]
    document_keys: frozenset[str] = frozenset()
    if notebook_id is not None:
        document_keys = frozenset(
            Document.objects.filter(notebook_id=notebook_id, onboarding_key__isnull=False).values_list(
                "onboarding_key", flat=True
            )
        )
    return _workspace(user, blueprint, found, document_keys)


def onboarding_workspaces(users: Sequence[User], blueprint: Blueprint) -> dict[object, Workspace]:
    """``onboarding_workspace`` for many users, by user id, in two queries whatever their number."""
    found = {row["id"]: row for row in _what_onboarding_finds().filter(pk__in=[user.pk for user in users])}
    notebook_ids = [row["onboarding_notebook__id"] for row in found.values()]
    keys_by_notebook: dict[object, set[str]] = {}
    if any(notebook_ids):
        documents = Document.objects.filter(
            notebook_id__in=[pk for pk in notebook_ids if pk], onboarding_key__isnull=False
        )
        for notebook_id, key in documents.values_list("notebook_id", "onboarding_key"):
            keys_by_notebook.setdefault(notebook_id, set()).add(key)
    return {
        user.pk: _workspace(
            user,
            blueprint,
            found[user.pk],
            frozenset(keys_by_notebook.get(found[user.pk]["onboarding_notebook__id"], ())),
        )
        for user in users
        if user.pk in found
    }


def _workspace(user: User, blueprint: Blueprint, found: dict, document_keys: frozenset[str]) -> Workspace:
    return Workspace(
        user=user,
        blueprint=blueprint,
        samples=blueprint_samples(blueprint),
        status=found["onboarding__status"] or OnboardingStatus.NOT_STARTED,
        attempts=found["onboarding__attempts"] or 0,
        completed_at=found["onboarding__completed_at"],
        space_id=found["personal_space__id"],
        owner_is_member=found["owner_is_member"],
        notebook_id=found["onboarding_notebook__id"],
        document_keys=document_keys,
        agent_id=found["onboarding_agent__id"],
        received=found["onboarding__received"] or {},
    )


@functools.cache
def _what_onboarding_finds() -> QuerySet[User]:
    """Users with their onboarding state and the resources onboarding made for them, joined by key.

    Built once and filtered per user: assembling these joins costs several times what running them
    does, and a run reads them first thing.
    """
    return (
        User.objects.order_by()
        .annotate(
            personal_space=FilteredRelation(
                "owned_spaces", condition=Q(owned_spaces__type=Space.Type.PERSONAL)
            ),
            onboarding_notebook=FilteredRelation(
                "notebooks", condition=Q(notebooks__onboarding_key=NOTEBOOK_KEY)
            ),
            onboarding_agent=FilteredRelation("agents", condition=Q(agents__onboarding_key=AGENT_KEY)),
            owner_is_member=Exists(
                Membership.objects.filter(user=OuterRef("pk"), space=OuterRef("personal_space__id"))
            ),
        )
        .values(
            "id",
            "onboarding__status",
            "onboarding__attempts",
            "onboarding__completed_at",
            "onboarding__received",
            "personal_space__id",
            "owner_is_member",
            "onboarding_notebook__id",
            "onboarding_agent__id",
        )
    )


# Compiled once: compiling these joins cost a run several times what running them does.
_WHAT_ONBOARDING_FINDS_FOR_ONE = CompiledQuery(
    lambda *, user_id: _what_onboarding_finds().filter(pk=user_id), user_id=uuid.uuid4()
)


def onboarding_completed(user: User) -> bool:
    """Whether the user's onboarding completed.

    Answered from the state read along with the user when it was (``select_related("onboarding")``,
    as sign-in reads the user), else with one query.
    """
    state = getattr(user, "onboarding", None)  # None: no state yet (RelatedObjectDoesNotExist)
    return state is not None and state.status == OnboardingStatus.COMPLETED


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


def onboarding_runs_of(user: User) -> QuerySet[OnboardingRun]:
    """Every run of the user, newest first, with its steps: skipped ones too, as the record keeps them.

    Runs started within the same microsecond come in a fixed order (by id), so pages never overlap.
    """
    return OnboardingRun.objects.filter(user=user).prefetch_related("steps").order_by("-started_at", "-id")


def onboarding_last_completed_run(user: User) -> OnboardingRun | None:
    """The run that last completed the user's onboarding: how long it took is what the dashboard shows.

    A roll-out's run brings a completed onboarding to a newer version; it completes nothing.
    """
    return (
        OnboardingRun.objects.filter(user=user, status=OnboardingRun.Status.COMPLETED)
        .exclude(trigger=OnboardingRun.Trigger.ROLLOUT)
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
    """What a run would create for a user now, step by step; empty lists mean nothing is missing."""

    blueprint_version: int | None
    missing: dict[str, list[str]]

    @property
    def is_empty(self) -> bool:
        return not any(self.missing.values())

    def as_dict(self) -> dict[str, list[str]]:
        return dict(self.missing)


def onboarding_plan(user: User, blueprint: Blueprint | None = None) -> OnboardingPlan:
    """Name what a forced run would create for ``user``, without changing anything.

    The steps' own decisions, on what is found now: what a run would create is what this names.
    """
    blueprint = blueprint or blueprint_current()
    if blueprint is None:
        return OnboardingPlan(blueprint_version=None, missing={step.name: [] for step in steps.STEPS})
    workspace = onboarding_workspace(user, blueprint)
    return OnboardingPlan(
        blueprint_version=blueprint.version,
        missing={step.name: step.missing(workspace).names for step in steps.STEPS},
    )


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
