"""Publishing blueprint versions: validated as a whole, saved as a whole, never edited in place."""

from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError
from django.db import connection, transaction
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
    # Given keys are claimed first, so a generated key never takes one a later document carries.
    given = {str(item.get("key")) for item in documents if item.get("key")}
    for position, item in enumerate(documents, start=1):
        name = str(item.get("name") or "").strip()
        key = str(item.get("key") or "") or _generated_key(name, taken=given | keys)
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


# Any constant: the key of the transaction-level advisory lock that serialises publications.
PUBLISH_LOCK_KEY = 0x6F6E62_0001


def blueprint_lock_publishing() -> None:
    """Hold, until the end of the current transaction, the lock every publication takes first.

    On PostgreSQL an advisory lock: a row lock on the newest version would not serialise the first
    publication (there is no row yet), nor two that read the same newest row. Elsewhere a no-op
    (SQLite serialises writers by itself). Taking it again in the same transaction is free.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PUBLISH_LOCK_KEY])


def blueprint_check_based_on(based_on_version: int) -> None:
    """Refuse an edit started from ``based_on_version`` (0: no version) once a newer one is published.

    Call it holding ``blueprint_lock_publishing`` so no publication slips in between.
    """
    latest = Blueprint.objects.order_by("-version").values_list("version", flat=True).first() or 0
    if latest != based_on_version:
        raise ValidationError(
            f"Version {latest} was published while you edited; reload the current version and make "
            "your changes again. Nothing was saved.",
            code="stale",
        )


def _generated_key(name: str, *, taken: set[str]) -> str:
    """A key for a new document: the slug of its name ("document" when it has none), unique in the version."""
    base = slugify(name)[:90] or "document"
    key, number = base, 1
    while key in taken:
        number += 1
        key = f"{base}-{number}"
    return key


@transaction.atomic
def blueprint_create_version(
    *,
    fields: Mapping[str, object],
    documents: Sequence[Mapping[str, object]],
    actor: User | None = None,
    change_note: str = "",
    based_on_version: int | None = None,
) -> Blueprint:
    """Validate and save a new blueprint version; it becomes the current one.

    Nothing is saved when anything is invalid. Concurrent publications are serialised by
    ``blueprint_lock_publishing``, so each gets the next number. With ``based_on_version`` (the
    version an editor started from; 0 for none), an edit overtaken by another publication is refused
    with a ``ValidationError`` instead of silently replacing it.
    """
    blueprint, built = blueprint_validate(fields=fields, documents=documents)
    blueprint_lock_publishing()
    if based_on_version is not None:
        blueprint_check_based_on(based_on_version)
    latest = Blueprint.objects.order_by("-version").values_list("version", flat=True).first()
    blueprint.version = (latest or 0) + 1
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
