"""The floor: the rows a user's first onboarding writes, written with psycopg alone.

No ORM, no reads, no locks, no timeouts: one transaction on one connection, one INSERT per table (the
documents and the steps in one multi-row INSERT each), parameters bound by the server and statements
prepared once they repeat. What ``onboard_user`` costs beyond this is the price of Django and of the
guarantees a real run keeps; the onboarding benchmark reports it as a ratio to this floor.
"""

import uuid
from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from notebooks.models import notebook_search_text
from onboarding.steps import Sample

STEP_NAMES = ("personal_space", "notebook", "documents", "agent")


@dataclass(frozen=True)
class BlueprintValues:
    """What the floor writes for each user: a blueprint version's values, read once."""

    version: int
    space_name_template: str
    notebook: dict
    agent: dict
    samples: tuple[Sample, ...]  # the documents, as onboarding reads them


def blueprint_values(blueprint) -> BlueprintValues:
    """The values of a ``Blueprint`` (read through Django before the timing starts)."""
    return BlueprintValues(
        version=blueprint.version,
        space_name_template=blueprint.space_name_template,
        notebook={
            "name": blueprint.notebook_name,
            "description": blueprint.notebook_description,
            "tags": list(blueprint.notebook_tags),
            "visibility": blueprint.notebook_visibility,
        },
        agent={
            "name": blueprint.agent_name,
            "description": blueprint.agent_description,
            "type": blueprint.agent_type,
            "model": blueprint.agent_model,
            "temperature": blueprint.agent_temperature,
            "max_tokens": blueprint.agent_max_tokens,
            "system_prompt": blueprint.agent_system_prompt,
            "tags": list(blueprint.agent_tags),
        },
        samples=tuple(
            Sample(d.key, d.name, d.content, d.order) for d in blueprint.documents.order_by("order", "name")
        ),
    )


def _values_rows(count: int, width: int, tail: str = "") -> str:
    """``count`` rows of ``width`` placeholders each (then ``tail``), for a multi-row VALUES list."""
    row = "(" + ", ".join(["%s"] * width) + tail + ")"
    return ", ".join([row] * count)


class Floor:
    """Writes first onboardings with raw SQL on a connection of its own."""

    def __init__(self, url: str, blueprint: BlueprintValues) -> None:
        self.conn = psycopg.connect(url)
        self.blueprint = blueprint
        self.documents_sql = (
            "INSERT INTO notebooks_document (id, notebook_id, name, mime_type, size_bytes, content, file, "
            "metadata, onboarding_key, created_at, updated_at) VALUES "
            + _values_rows(len(blueprint.samples), 9, tail=", now(), now()")
        )
        self.steps_sql = (
            "INSERT INTO onboarding_onboardingstep (run_id, name, position, status, duration_ms, "
            "created_count, error) VALUES " + _values_rows(len(STEP_NAMES), 7)
        )

    def onboard(self, user_id: uuid.UUID, display_name: str) -> None:
        """Write one user's first onboarding: every row, one transaction."""
        blueprint, notebook, agent = self.blueprint, self.blueprint.notebook, self.blueprint.agent
        space_id, notebook_id, agent_id, run_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        created = {"personal_space": 1, "notebook": 1, "documents": len(blueprint.samples), "agent": 1}
        with self.conn.transaction(), self.conn.cursor() as cursor:
            cursor.execute(
                "INSERT INTO accounts_space (id, type, name, description, owner_id, created_at, updated_at) "
                "VALUES (%s, 'personal', %s, '', %s, now(), now())",
                [space_id, blueprint.space_name_template.format(name=display_name)[:200], user_id],
            )
            cursor.execute(
                "INSERT INTO accounts_membership (id, user_id, space_id, role, created_at) "
                "VALUES (%s, %s, %s, 'owner', now())",
                [uuid.uuid4(), user_id, space_id],
            )
            cursor.execute(
                "INSERT INTO notebooks_notebook (id, space_id, owner_id, name, description, tags, "
                "visibility, onboarding_key, search_text, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, 'onboarding', %s, now(), now())",
                [
                    notebook_id,
                    space_id,
                    user_id,
                    notebook["name"],
                    notebook["description"],
                    Jsonb(notebook["tags"]),
                    notebook["visibility"],
                    notebook_search_text(notebook["name"], notebook["description"], notebook["tags"]),
                ],
            )
            documents = []
            for sample in blueprint.samples:
                documents += [
                    uuid.uuid4(),
                    notebook_id,
                    sample.name,
                    "text/plain",
                    len(sample.content.encode()),
                    sample.content,
                    "",
                    Jsonb({"source": "onboarding", "is_sample": True, "order": sample.order}),
                    sample.key,
                ]
            cursor.execute(self.documents_sql, documents)
            cursor.execute(
                "INSERT INTO notebooks_agent (id, space_id, owner_id, name, description, type, model, "
                "temperature, max_tokens, system_prompt, tags, onboarding_key, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'onboarding', now(), now())",
                [
                    agent_id,
                    space_id,
                    user_id,
                    agent["name"],
                    agent["description"],
                    agent["type"],
                    agent["model"],
                    agent["temperature"],
                    agent["max_tokens"],
                    agent["system_prompt"],
                    Jsonb(agent["tags"]),
                ],
            )
            cursor.execute(
                "INSERT INTO notebooks_agent_knowledge_notebooks (agent_id, notebook_id) VALUES (%s, %s)",
                [agent_id, notebook_id],
            )
            cursor.execute(
                "INSERT INTO onboarding_useronboarding (user_id, status, attempts, blueprint_version, "
                "completed_at, last_error, created_at, updated_at, agent_id, notebook_id, space_id, "
                "received) VALUES (%s, 'completed', 1, %s, now(), '', now(), now(), %s, %s, %s, %s)",
                [
                    user_id,
                    blueprint.version,
                    agent_id,
                    notebook_id,
                    space_id,
                    Jsonb({sample.key: sample.receipt(blueprint.version) for sample in blueprint.samples}),
                ],
            )
            cursor.execute(
                "INSERT INTO onboarding_onboardingrun (id, user_id, trigger, status, forced, "
                "blueprint_version, started_at, finished_at, duration_ms, failed_step, error, timed_out, "
                "created, actor_id, request_id) VALUES (%s, %s, 'command', 'completed', false, %s, now(), "
                "now(), 0, '', '', false, %s, NULL, '')",
                [run_id, user_id, blueprint.version, Jsonb(created)],
            )
            steps = []
            for position, name in enumerate(STEP_NAMES, start=1):
                steps += [run_id, name, position, "succeeded", 0, created[name], ""]
            cursor.execute(self.steps_sql, steps)

    def close(self) -> None:
        self.conn.close()
