"""Publishing blueprint versions: validated as a whole, saved as a whole, never edited in place."""

from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from accounts.models import User
from onboarding.models import Blueprint, BlueprintDocument

BLUEPRINT_FIELDS = (
    "space_name_template",
    "notebook_name",
    "notebook_description",
    "notebook_tags",
    "notebook_visibility",
    "agent_name",
    "agent_description",
    "agent_type",
    "agent_model",
    "agent_temperature",
    "agent_max_tokens",
    "agent_system_prompt",
    "agent_tags",
)


def blueprint_validate(
    *, fields: Mapping[str, object], documents: Sequence[Mapping[str, object]]
) -> tuple[Blueprint, list[BlueprintDocument]]:
    """Build an unsaved blueprint and its documents, or raise one ``ValidationError`` naming every problem.

    ``documents`` are mappings with ``name``, ``content``, ``order`` and optionally ``key``; a document
    without a key gets one from its name (a document keeps its key from version to version, which is
    how users' copies are recognised).
    """
    unknown = set(fields) - set(BLUEPRINT_FIELDS)
    if unknown:
        raise ValueError(f"Unknown blueprint fields: {', '.join(sorted(unknown))}")
    blueprint = Blueprint(**fields)
    errors: dict[str, list] = {}
    try:
        blueprint.full_clean(exclude=["version", "created_by"], validate_unique=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)

    built: list[BlueprintDocument] = []
    names: set[str] = set()
    keys: set[str] = set()
    for position, item in enumerate(documents, start=1):
        name = str(item.get("name") or "").strip()
        key = str(item.get("key") or "") or slugify(name)[:100]
        document = BlueprintDocument(
            key=key, name=name, content=item.get("content") or "", order=item.get("order", position)
        )
        label = f"Document {position}" + (f" ({name})" if name else "")
        try:
            document.full_clean(exclude=["blueprint"], validate_unique=False)
        except ValidationError as exc:
            for field_name, messages in exc.message_dict.items():
                errors.setdefault("documents", []).extend(
                    f"{label}: {field_name}: {message}" for message in messages
                )
        if name and name.casefold() in names:
            errors.setdefault("documents", []).append(f"{label}: the name {name!r} is used twice.")
        if key and key in keys:
            errors.setdefault("documents", []).append(f"{label}: the key {key!r} is used twice.")
        names.add(name.casefold())
        keys.add(key)
        built.append(document)
    if errors:
        raise ValidationError(errors)
    return blueprint, built


@transaction.atomic
def blueprint_create_version(
    *,
    fields: Mapping[str, object],
    documents: Sequence[Mapping[str, object]],
    actor: User | None = None,
    change_note: str = "",
) -> Blueprint:
    """Validate and save a new blueprint version; it becomes the current one.

    Nothing is saved when anything is invalid. Concurrent publications are serialised on the newest
    version's row, so each gets the next number.
    """
    blueprint, built = blueprint_validate(fields=fields, documents=documents)
    latest = Blueprint.objects.select_for_update().order_by("-version").first()
    blueprint.version = (latest.version if latest else 0) + 1
    blueprint.created_by = actor
    blueprint.change_note = change_note[:255]
    blueprint.save()
    for document in built:
        document.blueprint = blueprint
    BlueprintDocument.objects.bulk_create(built)
    return blueprint


def blueprint_as_input(blueprint: Blueprint) -> tuple[dict[str, object], list[dict[str, object]]]:
    """A version's content in the shape ``blueprint_create_version`` takes, to derive a new version."""
    fields = {name: getattr(blueprint, name) for name in BLUEPRINT_FIELDS}
    documents = [
        {"key": d.key, "name": d.name, "content": d.content, "order": d.order}
        for d in blueprint.documents.all()
    ]
    return fields, documents
