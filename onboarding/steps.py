"""What a new user receives, one step at a time: the one definition of each onboarding step.

A step looks at the user's workspace as onboarding finds it and answers what is ``Missing``: the rows to
insert, and the names a person would recognise among them. A run inserts those rows
(``Step.run``, called by ``onboarding.services.onboard_user``); a dry run only lists the names
(``onboarding.selectors.onboarding_plan``). Both ask the same function, so what a plan promises is what
a run does.

Resources are recognised by a stable onboarding key, never by their name (which the user may change):
a step adds only what is missing and never edits or deletes anything. The database backs this up with
unique constraints (one personal space, one onboarding notebook and agent per user, one document per
key in the notebook).

Onboarding many users at once (``onboarding.bulk``) runs the same steps, each user's rows of a step
gathered and inserted together.

To add a step: write a function ``Workspace -> Missing`` and list it in ``STEPS``, in the order a run
takes them. Its name is what runs record, the API reports and the admin shows; its label and sentence
are what staff and the user read when it fails.
"""

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from django.db import models

from accounts.models import Membership, Space, User
from notebooks.models import Agent, Document, Notebook, notebook_search_text

if TYPE_CHECKING:
    # Only a type here: onboarding.models imports this module for the step names.
    from onboarding.models import Blueprint

# Resources created by onboarding carry these keys, so a later run recognises them after a rename.
NOTEBOOK_KEY = "onboarding"
AGENT_KEY = "onboarding"


@dataclass(frozen=True)
class Sample:
    """A sample document of a blueprint version, as the documents step copies it."""

    key: str
    name: str
    content: str
    order: int

    @cached_property
    def sha256(self) -> str:
        """The text's SHA-256, hex: what a user's copy is compared with to tell whether they edited it."""
        return text_sha256(self.content)

    def receipt(self, version: int) -> "Receipt":
        """What a user who receives this sample from ``version`` keeps a record of."""
        return {"version": version, "name": self.name, "sha256": self.sha256}


# What a user received of one sample: the version it came from, the name and the text's SHA-256 it had.
# Kept per sample key on the user's onboarding state (``UserOnboarding.received``), so a roll-out can tell
# a sample the user renamed, edited or deleted from one they left as it came.
Receipt = dict[str, object]


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Workspace:
    """A user's onboarding as a run (or a plan) finds it, completed by each step with what it adds.

    The ids are those of the resources onboarding made for the user, found by their keys; a step that
    adds a resource records its id here (primary keys are UUIDs made before the row is inserted), so
    the steps after it can refer to it.
    """

    user: User
    blueprint: "Blueprint"
    samples: Sequence[Sample]
    # The user's onboarding state as found: "not_started" when it never ran.
    status: str = "not_started"
    attempts: int = 0
    completed_at: datetime | None = None
    space_id: uuid.UUID | None = None
    owner_is_member: bool = False
    notebook_id: uuid.UUID | None = None
    document_keys: frozenset[str] = frozenset()
    agent_id: uuid.UUID | None = None
    # What the user received, by sample key; the documents step adds what it creates.
    received: dict[str, Receipt] = field(default_factory=dict)


@dataclass
class Missing:
    """What a step would add: the names a person recognises, and every row to insert, in order."""

    names: list[str] = field(default_factory=list)
    rows: list[models.Model] = field(default_factory=list)


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    # What the dashboard tells a user whose onboarding failed at this step.
    failure_sentence: str
    missing: Callable[[Workspace], Missing]

    def run(self, workspace: Workspace, insert: Callable[[list[models.Model]], None] | None = None) -> int:
        """Insert what is missing; answer how many resources that created.

        ``insert`` receives the rows instead of ``insert_rows``: onboarding many users at once
        (``onboarding.bulk``) gathers every user's rows of a step and inserts them together.
        """
        missing = self.missing(workspace)
        (insert or insert_rows)(missing.rows)
        return len(missing.names)


def insert_rows(rows: list[models.Model]) -> None:
    """Insert ``rows``, one statement per model, the models in the order they first appear.

    ``bulk_create`` runs no ``save()``: a step builds each row complete (a notebook's search text
    included). Foreign keys are checked at commit, so rows may refer to rows inserted after them.
    """
    by_model: dict[type[models.Model], list[models.Model]] = {}
    for row in rows:
        by_model.setdefault(type(row), []).append(row)
    for model, same_model in by_model.items():
        model.objects.bulk_create(same_model)


# --- the steps, in the order a run takes them --------------------------------------------------------


def personal_space(workspace: Workspace) -> Missing:
    """The user's personal space, and their owner membership of it."""
    user = workspace.user
    if workspace.space_id is not None:
        if workspace.owner_is_member:
            return Missing()
        membership = Membership(user=user, space_id=workspace.space_id, role=Membership.Role.OWNER)
        return Missing(rows=[membership])
    space = Space(
        type=Space.Type.PERSONAL,
        owner=user,
        name=workspace.blueprint.space_name_template.format(name=user.display_name)[:200],
    )
    workspace.space_id, workspace.owner_is_member = space.pk, True
    return Missing(
        names=[space.name], rows=[space, Membership(user=user, space=space, role=Membership.Role.OWNER)]
    )


def notebook(workspace: Workspace) -> Missing:
    """The "Getting Started" notebook, in the personal space."""
    if workspace.notebook_id is not None:
        return Missing()
    blueprint = workspace.blueprint
    name, description, tags = blueprint.notebook_name, blueprint.notebook_description, blueprint.notebook_tags
    made = Notebook(
        space_id=workspace.space_id,
        owner=workspace.user,
        name=name,
        description=description,
        tags=list(tags),
        visibility=blueprint.notebook_visibility,
        onboarding_key=NOTEBOOK_KEY,
        search_text=notebook_search_text(name, description, tags),
    )
    workspace.notebook_id, workspace.document_keys = made.pk, frozenset()
    return Missing(names=[made.name], rows=[made])


def sample_document(sample: Sample, notebook_id: uuid.UUID | None) -> Document:
    """A user's copy of a sample document, in their onboarding notebook (unsaved)."""
    return Document(
        notebook_id=notebook_id,
        name=sample.name,
        mime_type="text/plain",
        content=sample.content,
        size_bytes=len(sample.content.encode("utf-8")),
        metadata={"source": "onboarding", "is_sample": True, "order": sample.order},
        onboarding_key=sample.key,
    )


def documents(workspace: Workspace) -> Missing:
    """The blueprint's sample documents the notebook does not hold (by key), in the blueprint's order."""
    new = [sample for sample in workspace.samples if sample.key not in workspace.document_keys]
    made = [sample_document(sample, workspace.notebook_id) for sample in new]
    workspace.document_keys |= {document.onboarding_key for document in made}
    version = workspace.blueprint.version
    workspace.received = {**workspace.received, **{sample.key: sample.receipt(version) for sample in new}}
    return Missing(names=[document.name for document in made], rows=made)


def agent(workspace: Workspace) -> Missing:
    """The "Personal Assistant" agent, with the notebook as its knowledge."""
    if workspace.agent_id is not None:
        return Missing()
    blueprint = workspace.blueprint
    made = Agent(
        space_id=workspace.space_id,
        owner=workspace.user,
        name=blueprint.agent_name,
        description=blueprint.agent_description,
        type=blueprint.agent_type,
        model=blueprint.agent_model,
        temperature=blueprint.agent_temperature,
        max_tokens=blueprint.agent_max_tokens,
        system_prompt=blueprint.agent_system_prompt,
        tags=list(blueprint.agent_tags),
        onboarding_key=AGENT_KEY,
    )
    knowledge = Agent.knowledge_notebooks.through(agent_id=made.pk, notebook_id=workspace.notebook_id)
    workspace.agent_id = made.pk
    return Missing(names=[made.name], rows=[made, knowledge])


STEPS: tuple[Step, ...] = (
    Step("personal_space", "Personal space", "We could not create your personal space.", personal_space),
    Step("notebook", "Notebook", "We could not create your “Getting Started” notebook.", notebook),
    Step(
        "documents",
        "Documents",
        "We could not add the sample guides to your “Getting Started” notebook.",
        documents,
    ),
    Step("agent", "Agent", "We could not set up your “Personal Assistant” agent.", agent),
)


# The steps' names, in the order a run takes them.
STEP_NAMES: tuple[str, ...] = tuple(step.name for step in STEPS)


def step_named(name: str) -> Step | None:
    return next((step for step in STEPS if step.name == name), None)


def step_choices() -> list[tuple[str, str]]:
    """``(name, label)`` of every step: the choices of ``OnboardingStep.name``."""
    return [(step.name, step.label) for step in STEPS]
