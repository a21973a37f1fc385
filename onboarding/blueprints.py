"""Publishing blueprint versions: validated as a whole, saved as a whole, never edited in place.

Every way of publishing (the admin's "Publish a new version" page, a command reading a file) calls
``blueprint_create_version``, so the rules and their messages are the same everywhere. Its input
may come from anywhere (a form, a JSON file): every value is checked for its type and range here,
and every problem comes back in one ``ValidationError`` keyed by where it is, the blueprint's field
names (``notebook_name``), ``change_note``, ``documents`` for the list as a whole and
``documents[i].name``-style keys (``i`` counted from 0) for one document's field.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.template.defaultfilters import filesizeformat
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
TAG_FIELDS = ("notebook_tags", "agent_tags")
# One-line values: blanks around them are dropped, as the admin's form does.
STRIPPED_FIELDS = (
    "space_name_template",
    "notebook_name",
    "notebook_visibility",
    "agent_name",
    "agent_type",
    "agent_model",
)
# Prose: a change is reported as "changed", not quoted whole.
LONG_TEXT_FIELDS = ("notebook_description", "agent_description", "agent_system_prompt")
DOCUMENT_FIELDS = ("key", "name", "content", "order")
DOCUMENTS_MAX = 50
DOCUMENT_ORDER_MAX = 1000
NOTE_MAX_LENGTH = Blueprint._meta.get_field("change_note").max_length


class BlueprintUnchanged(ValidationError):
    """The new version would be the same as the current one, so nothing is published."""


def _unstorable(text: str) -> str | None:
    """What in ``text`` cannot be stored: NUL characters, or half a character (a lone surrogate).

    A form never sends either; a JSON file can ("\\u0000", "\\ud800"), and the database refuses both.
    """
    if "\x00" in text:
        return "NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a lone surrogate (\\ud800 to \\udfff), half of a character"
    return None


def _type_error(name: str, value: object) -> str | None:
    """Why ``value`` cannot be the blueprint field ``name``, if its type or content rules it out."""
    if name in TAG_FIELDS:
        if not isinstance(value, list):
            # Said here: an empty value (None, "") never reaches a model field's validators.
            return "Tags must be a list of strings."
        for tag in value:
            unstorable = _unstorable(tag) if isinstance(tag, str) else None
            if unstorable:
                return f"Tags must not contain {unstorable}."
        return None  # validate_tags, run by full_clean, says what else is wrong
    if name == "agent_temperature":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "Enter a number, such as 0.7."
        return None if math.isfinite(value) else "Enter a finite number, such as 0.7."
    if name == "agent_max_tokens":
        if isinstance(value, bool) or not isinstance(value, int):
            return "Enter a whole number, such as 2000."
        return None
    if not isinstance(value, str):
        return "Enter text."
    unstorable = _unstorable(value)
    return f"Must not contain {unstorable}." if unstorable else None


def _unix_newlines(text: str) -> str:
    """Lines end with "\\n": browsers send a textarea's lines ending with "\\r\\n", editors may too."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _add(errors: dict[str, list[str]], where: str, message: str) -> None:
    errors.setdefault(where, []).append(message)


def _validate_fields(fields: Mapping[str, object], errors: dict[str, list[str]]) -> Blueprint:
    unknown = set(fields) - set(BLUEPRINT_FIELDS)
    if unknown:
        raise ValueError(f"Unknown blueprint fields: {', '.join(sorted(unknown))}")
    values = {}
    for name, value in fields.items():
        message = _type_error(name, value)
        if message:
            _add(errors, name, message)
        elif name in STRIPPED_FIELDS:
            values[name] = value.strip()
        else:
            values[name] = _unix_newlines(value) if name in LONG_TEXT_FIELDS else value
    blueprint = Blueprint(**values)
    try:
        # Constraints repeat what the fields' own rules say (names set, a known agent type): the
        # database keeps them, the messages come from the fields.
        blueprint.full_clean(
            exclude=["version", "created_by", "change_note", *(set(fields) - set(values))],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    return blueprint


@dataclass
class _Checked:
    """A document of the input and which of its fields are invalid (left out of the duplicate checks)."""

    document: BlueprintDocument
    invalid: set[str] = field(default_factory=set)


def _document_value(item: Mapping[str, object], name: str, position: int) -> tuple[object, str | None]:
    """The value of one field of a document, cleaned, and what is wrong with it."""
    if name == "order":
        order = item.get("order", position + 1)
        if isinstance(order, bool) or not isinstance(order, int):
            return None, "Enter a whole number, such as 1."
        if not 1 <= order <= DOCUMENT_ORDER_MAX:
            return None, f"Enter a number from 1 to {DOCUMENT_ORDER_MAX}."
        return order, None
    value = item.get(name)
    if value is None or value == "":
        return "", (None if name == "key" else "This field cannot be blank.")
    if not isinstance(value, str):
        return None, "Enter text."
    unstorable = _unstorable(value)
    if unstorable:
        return None, f"Must not contain {unstorable}."
    if name == "content":
        value = _unix_newlines(value)
        if len(value.encode("utf-8")) > settings.DOCUMENT_MAX_BYTES:
            limit = filesizeformat(settings.DOCUMENT_MAX_BYTES).replace("\xa0", " ")
            return (
                None,
                f"A sample document may be at most {limit}, as large as a document a user can upload.",
            )
        return value, None
    value = value.strip()
    return value, (None if value or name == "key" else "This field cannot be blank.")


def _document(position: int, item: object, errors: dict[str, list[str]]) -> _Checked | None:
    """One document of the input, checked alone; ``None`` when it is not even an object."""
    where = f"documents[{position}]"
    if not isinstance(item, Mapping):
        _add(errors, where, "Each document is an object with a name, a content and an order.")
        return None
    unknown = sorted(str(name) for name in set(item) - set(DOCUMENT_FIELDS))
    if unknown:
        _add(errors, where, f"Unknown fields: {', '.join(unknown)}.")
    checked = _Checked(BlueprintDocument(order=0))
    for name in DOCUMENT_FIELDS:
        value, message = _document_value(item, name, position)
        if message:
            checked.invalid.add(name)
            _add(errors, f"{where}.{name}", message)
        else:
            setattr(checked.document, name, value)
    # The model's own rules (lengths, the key's characters) for what is there to check.
    unchecked = [
        f.name
        for f in BlueprintDocument._meta.fields
        if f.name in checked.invalid or f.name not in DOCUMENT_FIELDS
    ]
    if not checked.document.key:
        unchecked.append("key")
    try:
        checked.document.clean_fields(exclude=unchecked)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            checked.invalid.add(name)
            errors.setdefault(f"{where}.{name}", []).extend(messages)
    return checked


def _validate_documents(documents: object, errors: dict[str, list[str]]) -> list[BlueprintDocument]:
    if not isinstance(documents, Sequence) or isinstance(documents, str | bytes):
        _add(errors, "documents", "The documents are a list.")
        return []
    if len(documents) > DOCUMENTS_MAX:
        _add(errors, "documents", f"A blueprint has at most {DOCUMENTS_MAX} sample documents.")
        return []
    checked = [_document(position, item, errors) for position, item in enumerate(documents)]
    seen: dict[str, set] = {"name": set(), "key": set(), "order": set()}
    for position, item in enumerate(checked):
        if item is None:
            continue
        document = item.document
        for name, value, said in (
            ("name", document.name.casefold(), f"The name “{document.name}” is used twice"),
            ("key", document.key, f"The key “{document.key}” is used twice"),
            ("order", document.order, f"The order {document.order} is used twice"),
        ):
            if name in item.invalid or not value:
                continue
            if value in seen[name]:
                _add(errors, f"documents[{position}].{name}", f"{said}; each document needs its own.")
            seen[name].add(value)
    built = [item.document for item in checked if item is not None]
    # Keys given are claimed first, so a generated key never takes one a later document carries.
    for document in built:
        if not document.key:
            document.key = _generated_key(document.name, taken=seen["key"])
            seen["key"].add(document.key)
    return built


def blueprint_validate(
    *, fields: Mapping[str, object], documents: Sequence[Mapping[str, object]]
) -> tuple[Blueprint, list[BlueprintDocument]]:
    """Build an unsaved blueprint and its documents, or raise one ``ValidationError`` naming every problem.

    ``documents`` are mappings with ``name``, ``content``, ``order`` and optionally ``key``; a document
    without a key gets one from its name (a document keeps its key from version to version, which is
    how users' copies are recognised). Error keys: see the module's docstring.
    """
    errors: dict[str, list[str]] = {}
    blueprint = _validate_fields(fields, errors)
    built = _validate_documents(documents, errors)
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
    """A key for a new document: the slug of its name without the extension, unique in the version.

    "Release notes.txt" gets "release-notes"; a name without a slug ("★★★") gets "document".
    """
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    base = slugify(stem.replace(".", " "))[:90] or "document"
    key, number = base, 1
    while key in taken:
        number += 1
        key = f"{base}-{number}"
    return key


def _note_errors(change_note: object) -> list[str]:
    if not isinstance(change_note, str):
        return ["Enter text."]
    unstorable = _unstorable(change_note)
    if unstorable:
        return [f"Must not contain {unstorable}."]
    if len(change_note.strip()) > NOTE_MAX_LENGTH:
        return [f"At most {NOTE_MAX_LENGTH} characters; this note has {len(change_note.strip())}."]
    return []


def blueprint_check(
    *, fields: Mapping[str, object], documents: Sequence[Mapping[str, object]], change_note: object
) -> tuple[Blueprint, list[BlueprintDocument]]:
    """``blueprint_validate`` and the change note's rules: everything a publication checks before saving.

    A dry run (``manage.py blueprint publish --dry-run``) stops here; ``blueprint_create_version``
    goes on to compare with the current version and save.
    """
    note_errors = _note_errors(change_note)
    try:
        checked = blueprint_validate(fields=fields, documents=documents)
    except ValidationError as exc:
        if note_errors:
            raise ValidationError({**exc.message_dict, "change_note": note_errors}) from None
        raise
    if note_errors:
        raise ValidationError({"change_note": note_errors})
    return checked


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

    Nothing is saved when anything is invalid, nor when the content is the current version's
    (``BlueprintUnchanged``, a ``ValidationError``). Concurrent publications are serialised by
    ``blueprint_lock_publishing``, so each gets the next number. With ``based_on_version`` (the
    version an editor started from; 0 for none), an edit overtaken by another publication is refused
    with a ``ValidationError`` instead of silently replacing it.
    """
    blueprint, built = blueprint_check(fields=fields, documents=documents, change_note=change_note)
    blueprint_lock_publishing()
    if based_on_version is not None:
        blueprint_check_based_on(based_on_version)
    current = Blueprint.objects.prefetch_related("documents").order_by("-version").first()
    if current is not None and not blueprint_changes(current, blueprint, built):
        raise BlueprintUnchanged(
            f"Nothing changed since version {current.version}, so nothing was published.", code="unchanged"
        )
    blueprint.version = (current.version if current else 0) + 1
    blueprint.created_by = actor
    blueprint.change_note = change_note.strip()
    blueprint.save()
    for document in built:
        document.blueprint = blueprint
    BlueprintDocument.objects.bulk_create(built)
    return blueprint


def _shown(blueprint: Blueprint, name: str) -> str:
    value = getattr(blueprint, name)
    if name in TAG_FIELDS:
        return ", ".join(value) or "none"
    display = getattr(blueprint, f"get_{name}_display", None)
    return f"“{display() if display else value}”" if isinstance(value, str) else str(value)


def blueprint_changes(
    old: Blueprint | None, new: Blueprint, new_documents: Sequence[BlueprintDocument] | None = None
) -> list[str]:
    """What ``new`` changes from ``old``, one sentence each ("notebook name: “A” → “B”").

    ``new_documents`` defaults to ``new``'s saved ones; pass the unsaved documents of a version
    not yet published. Empty when nothing changed.
    """
    if old is None:
        return ["first version"]
    changes = []
    for name in BLUEPRINT_FIELDS:
        if getattr(old, name) == getattr(new, name):
            continue
        label = Blueprint._meta.get_field(name).verbose_name
        if name in LONG_TEXT_FIELDS:
            changes.append(f"{label} changed")
        else:
            changes.append(f"{label}: {_shown(old, name)} → {_shown(new, name)}")
    before = {document.key: document for document in old.documents.all()}
    after = {
        document.key: document
        for document in (new.documents.all() if new_documents is None else new_documents)
    }
    for key, document in after.items():
        previous = before.get(key)
        if previous is None:
            changes.append(f"added document “{document.name}”")
            continue
        edits = []
        if previous.name != document.name:
            edits.append(f"renamed to “{document.name}”")
        if previous.content != document.content:
            edits.append("text changed")
        if previous.order != document.order:
            edits.append(f"order {previous.order} → {document.order}")
        if edits:
            changes.append(f"document “{previous.name}”: {', '.join(edits)}")
    changes += [f"removed document “{document.name}”" for key, document in before.items() if key not in after]
    return changes


def blueprint_as_input(blueprint: Blueprint) -> tuple[dict[str, object], list[dict[str, object]]]:
    """A version's content in the shape ``blueprint_create_version`` takes, to derive a new version."""
    fields = {name: getattr(blueprint, name) for name in BLUEPRINT_FIELDS}
    documents = [
        {"key": d.key, "name": d.name, "content": d.content, "order": d.order}
        for d in blueprint.documents.all()
    ]
    return fields, documents
