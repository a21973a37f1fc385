"""The blueprint as a file: one version as JSON, to keep in version control and publish from there.

``blueprint_export`` gives a version in the file's shape (CONTRACT.md, "Blueprint as code"). A file
goes the other way through ``blueprint_file_check`` (a dry run) or ``blueprint_file_publish``: this
module checks what only a file can get wrong (bytes that are not UTF-8 or not JSON, a key written
twice, unknown or missing fields, sections that are not objects) and hands the values to
``onboarding.blueprints``, whose rules and messages are the admin's publish page's. Every problem is
named by where it is in the file: ``notebook.tags``, ``documents[2].order`` (counted from 0),
``note``, or ``(file)`` for the file as a whole. Nothing is written unless the whole file is valid.
"""

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.template.defaultfilters import filesizeformat

from accounts.models import User
from onboarding.blueprints import (
    BLUEPRINT_FIELDS,
    DOCUMENT_FIELDS,
    DOCUMENTS_MAX,
    LONG_TEXT_FIELDS,
    blueprint_as_input,
    blueprint_check,
    blueprint_create_version,
)
from onboarding.models import Blueprint, BlueprintDocument

WHOLE_FILE = "(file)"
# The file's sections holding blueprint fields: "notebook": {"name": ...} is the field notebook_name.
SECTIONS = ("notebook", "agent")
SECTION_FIELDS = {
    section: tuple(
        name.removeprefix(f"{section}_") for name in BLUEPRINT_FIELDS if name.startswith(f"{section}_")
    )
    for section in SECTIONS
}
# Top-level fields, in the order an export writes them; version and created_at are ignored on publish.
TOP_FIELDS = ("version", "created_at", "note", "space_name_template", "notebook", "documents", "agent")
REQUIRED_TOP_FIELDS = ("space_name_template", "notebook", "documents", "agent")
# A document without a key gets one from its name, as on the admin's page.
REQUIRED_DOCUMENT_FIELDS = ("name", "content", "order")
# Texts longer than this (in lines, both versions together) are compared by size, not line by line.
DIFF_MAX_LINES = 20_000
SHOWN_KEY_MAX = 60
# Levels of arrays and objects: a blueprint needs 4 (a document's field); deeper is refused before any check.
NESTING_MAX = 8


def blueprint_file_max_bytes() -> int:
    """The largest file read: the largest form the admin's publish page accepts (a request body)."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class BlueprintFileInvalid(Exception):
    """The file cannot be published; ``errors`` maps where in the file to what is wrong there."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(f"{len(errors)} problems")
        self.errors = errors

    def lines(self) -> list[str]:
        """One ``where: what`` line per problem, in the order of the file."""
        ordered = sorted(self.errors.items(), key=lambda item: _file_order(item[0]))
        return [f"{where}: {message}" for where, messages in ordered for message in messages]


@dataclass
class CheckedFile:
    """A valid file: the unsaved version it describes, the note it would be published with, and the
    values read from it, as ``blueprint_create_version`` takes them."""

    blueprint: Blueprint
    documents: list[BlueprintDocument]
    note: str
    fields: dict[str, object]
    document_inputs: object


@dataclass
class _Parsed:
    """A file read as far as it could be: the service's input, and what is already known to be wrong."""

    fields: dict[str, object] = field(default_factory=dict)
    documents: object = ()
    note: object = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    # Places reported missing or of the wrong shape: the service's messages about them say nothing more.
    covered: set[str] = field(default_factory=set)

    def add(self, where: str, message: str, *, covers: bool = False) -> None:
        self.errors.setdefault(where, []).append(message)
        if covers:
            self.covered.add(where)


def blueprint_export(blueprint: Blueprint) -> dict[str, object]:
    """A version in the file's shape, its documents in the order users receive them."""
    fields, documents = blueprint_as_input(blueprint)
    exported: dict[str, object] = {
        "version": blueprint.version,
        "created_at": blueprint.created_at.isoformat(),
        "note": blueprint.change_note,
        "space_name_template": fields["space_name_template"],
    }
    for section in SECTIONS:
        exported[section] = {name: fields[f"{section}_{name}"] for name in SECTION_FIELDS[section]}
    exported["documents"] = sorted(documents, key=lambda document: (document["order"], document["name"]))
    # The contract's order: the agent last, after the documents it draws on.
    exported["agent"] = exported.pop("agent")
    return exported


def blueprint_export_text(blueprint: Blueprint) -> str:
    return json.dumps(blueprint_export(blueprint), indent=2, ensure_ascii=False) + "\n"


def blueprint_file_read(stream: BinaryIO) -> bytes:
    """Read a file's bytes, refusing one larger than ``blueprint_file_max_bytes`` without reading it all."""
    limit = blueprint_file_max_bytes()
    data = stream.read(limit + 1)
    if len(data) > limit:
        size = filesizeformat(limit).replace("\xa0", " ")
        problem = (
            f"The file is larger than {limit:,} bytes ({size}), the most the admin's publish page accepts."
        )
        raise BlueprintFileInvalid({WHOLE_FILE: [problem]})
    return data


def blueprint_file_check(data: bytes, *, note: str | None = None) -> CheckedFile:
    """Check a file as a publication would, without publishing; ``note`` replaces the file's note.

    Raises ``BlueprintFileInvalid`` naming every problem.
    """
    parsed = _parse(data, note=note)
    try:
        blueprint, documents = blueprint_check(
            fields=parsed.fields, documents=parsed.documents, change_note=parsed.note
        )
    except ValidationError as exc:
        _merge(parsed, exc, note_given=note is not None)
    if parsed.errors:
        raise BlueprintFileInvalid(parsed.errors)
    return CheckedFile(
        blueprint=blueprint,
        documents=documents,
        note=str(parsed.note).strip(),
        fields=parsed.fields,
        document_inputs=parsed.documents,
    )


def blueprint_file_publish(data: bytes, *, note: str | None = None, actor: User | None = None) -> Blueprint:
    """Publish a file as the next version through ``blueprint_create_version``, as the admin does.

    Raises ``BlueprintFileInvalid`` naming every problem, or ``BlueprintUnchanged`` when the file
    holds the current version's content; nothing is saved then.
    """
    checked = blueprint_file_check(data, note=note)
    try:
        return blueprint_create_version(
            fields=checked.fields, documents=checked.document_inputs, actor=actor, change_note=checked.note
        )
    except ValidationError as exc:
        if exc.code == "unchanged":
            raise
        # Checked already: only what depends on the database (none today) could be said here.
        parsed = _Parsed()
        _merge(parsed, exc, note_given=note is not None)
        raise BlueprintFileInvalid(parsed.errors) from None


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


class _Object(dict):
    """A JSON object, remembering the keys written more than once (JSON parsers silently keep the last)."""

    repeated: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, object]]) -> _Object:
    made = _Object(pairs)
    if len(made) != len(pairs):
        seen: set[str] = set()
        repeated: dict[str, None] = {}
        for key, _value in pairs:
            if key in seen:
                repeated[key] = None
            seen.add(key)
        made.repeated = tuple(repeated)
    return made


def _decode(data: bytes) -> object:
    """The file's JSON value; ``BlueprintFileInvalid`` when it is not UTF-8 JSON."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problem = f"The file is not UTF-8 text: the byte 0x{data[exc.start]:02x} on line {line} is not UTF-8."
        raise BlueprintFileInvalid({WHOLE_FILE: [f"{problem} Save it as UTF-8."]}) from None
    try:
        return json.loads(text, object_pairs_hook=_object, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        problem = f"The file is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
    except ValueError as exc:
        problem = f"The file is not JSON a blueprint can hold: {exc}."
    except RecursionError:
        problem = "The file nests arrays or objects too deeply to be a blueprint."
    raise BlueprintFileInvalid({WHOLE_FILE: [problem]})


def _short(key: str) -> str:
    """A key as a problem's place names it: cut short, as a file may hold a key of any length."""
    return key if len(key) <= SHOWN_KEY_MAX else key[: SHOWN_KEY_MAX - 1] + "…"


def _shown_key(key: str) -> str:
    return json.dumps(_short(key), ensure_ascii=False)


def _check_objects(value: object, parsed: _Parsed) -> None:
    """Report every object, anywhere in the file, with a key written twice; refuse deep nesting.

    A blueprint's values are at most four levels deep (``documents[0].name``); anything deeper is no
    blueprint, and is refused before any check that would descend into it.
    """
    pending = [(value, "", 1)]
    while pending:
        item, where, depth = pending.pop()
        if depth > NESTING_MAX and isinstance(item, dict | list):
            problem = (
                f"Arrays and objects are nested too deeply here; a blueprint nests at most {NESTING_MAX}."
            )
            raise BlueprintFileInvalid({where: [problem]})
        if isinstance(item, _Object):
            for key in item.repeated:
                parsed.add(
                    f"{where}.{_short(key)}" if where else _short(key),
                    f"The key {_shown_key(key)} is written more than once in the same object; write it once.",
                )
            pending.extend(
                (child, f"{where}.{_short(key)}" if where else _short(key), depth + 1)
                for key, child in item.items()
            )
        elif isinstance(item, list):
            pending.extend((child, f"{where}[{index}]", depth + 1) for index, child in enumerate(item))


def _fields_of(
    value: Mapping, where: str, known: tuple[str, ...], required: tuple[str, ...], parsed: _Parsed
):
    """Report an object's unknown and missing fields."""
    prefix = f"{where}." if where else ""
    for key in value:
        if key not in known:
            parsed.add(
                f"{prefix}{_short(key)}",
                f"Unknown field {_shown_key(key)}; the fields here are {', '.join(known)}.",
            )
    for name in required:
        if name not in value:
            parsed.add(f"{prefix}{name}", "This field is missing.", covers=True)


def _parse(data: bytes, *, note: str | None) -> _Parsed:
    """Read the file into the service's input, noting what the file alone gets wrong."""
    value = _decode(data)
    parsed = _Parsed()
    if not isinstance(value, dict):
        raise BlueprintFileInvalid(
            {WHOLE_FILE: ['A blueprint file is one JSON object: {"space_name_template": …, "notebook": …}.']}
        )
    _check_objects(value, parsed)
    _fields_of(value, "", TOP_FIELDS, REQUIRED_TOP_FIELDS, parsed)
    if "space_name_template" in value:
        parsed.fields["space_name_template"] = value["space_name_template"]
    for section in SECTIONS:
        content = value.get(section)
        if section not in value:
            continue
        if not isinstance(content, dict):
            parsed.add(section, f"The {section} is an object of fields.", covers=True)
            continue
        _fields_of(content, section, SECTION_FIELDS[section], SECTION_FIELDS[section], parsed)
        for name in SECTION_FIELDS[section]:
            if name in content:
                parsed.fields[f"{section}_{name}"] = content[name]
    documents = value.get("documents", [])
    if isinstance(documents, list) and len(documents) <= DOCUMENTS_MAX:
        # Only known fields reach the service; the others were reported above.
        kept = []
        for index, item in enumerate(documents):
            if isinstance(item, dict):
                _fields_of(item, f"documents[{index}]", DOCUMENT_FIELDS, REQUIRED_DOCUMENT_FIELDS, parsed)
                item = {name: item[name] for name in DOCUMENT_FIELDS if name in item}
            kept.append(item)
        documents = kept
    parsed.documents = documents
    parsed.note = note if note is not None else value.get("note", "")
    if isinstance(parsed.note, str) and not parsed.note.strip():
        where = "--note" if note is not None else "note"
        parsed.add(
            where,
            'Say what this version changes and why (the file\'s "note", or --note TEXT); it is kept with it.',
            covers=True,
        )
    return parsed


def _file_place(key: str, *, note_given: bool) -> str:
    """Where in the file the service's error key ``key`` is (``notebook_tags``: ``notebook.tags``)."""
    if key == "change_note":
        return "--note" if note_given else "note"
    if key == NON_FIELD_ERRORS:
        return WHOLE_FILE
    for section in SECTIONS:
        if key.startswith(f"{section}_"):
            return f"{section}.{key.removeprefix(f'{section}_')}"
    return key


def _merge(parsed: _Parsed, error: ValidationError, *, note_given: bool) -> None:
    """Add the service's messages, under the file's names, except about places already reported as missing."""
    messages = error.message_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: error.messages}
    for key, said in messages.items():
        place = _file_place(key, note_given=note_given)
        if any(place == done or place.startswith((f"{done}.", f"{done}[")) for done in parsed.covered):
            continue
        parsed.errors.setdefault(place, []).extend(said)


def _file_order(place: str) -> tuple:
    """Sort key: the file's own order of fields, then documents by position."""
    head = place.split(".", 1)[0].split("[", 1)[0]
    rank = TOP_FIELDS.index(head) if head in TOP_FIELDS else (-1 if place == WHOLE_FILE else len(TOP_FIELDS))
    index = -1
    if place.startswith("documents["):
        number = place[len("documents[") :].split("]", 1)[0]
        index = int(number) if number.isdigit() else -1
    return (rank, index, place)


def _text_change(old: str, new: str) -> str:
    """A text's change in a few words: how many lines were added and removed."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    if len(old_lines) + len(new_lines) > DIFF_MAX_LINES:
        sizes = f"{len(old_lines):,} → {len(new_lines):,} lines, {len(old):,} → {len(new):,} characters"
        return f"text changed ({sizes})"
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            removed += old_end - old_start
        if tag in ("replace", "insert"):
            added += new_end - new_start
    if not (added or removed):
        return "text changed (line breaks only)"
    counts = f"{_lines(added)} added, {_lines(removed)} removed"
    return f"text changed: {counts} ({len(old_lines)} → {len(new_lines)} lines)"


def _lines(number: int) -> str:
    return f"{number} line" if number == 1 else f"{number} lines"


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def blueprint_file_differences(
    current: Blueprint | None, blueprint: Blueprint, documents: list[BlueprintDocument]
) -> list[str]:
    """What publishing ``blueprint`` would change from ``current``, one line each, named as in the file.

    Fields changed, then documents by key: added, changed (name, order, text), removed. Empty when
    nothing would change.
    """
    if current is None:
        return ["no version is published yet: this would be the first"]
    changes = []
    for name in BLUEPRINT_FIELDS:
        before, after = getattr(current, name), getattr(blueprint, name)
        if before == after:
            continue
        place = _file_place(name, note_given=False)
        if name in LONG_TEXT_FIELDS:
            changes.append(f"{place}: {_text_change(before, after)}")
        else:
            changes.append(f"{place}: {_json(before)} → {_json(after)}")
    old = {document.key: document for document in current.documents.all()}
    new = {document.key: document for document in sorted(documents, key=lambda d: (d.order, d.name))}
    for key, document in new.items():
        previous = old.get(key)
        if previous is None:
            lines = len(document.content.splitlines())
            changes.append(
                f"documents[key={key}]: added {_json(document.name)}, order {document.order}, {_lines(lines)}"
            )
            continue
        edits = []
        if previous.name != document.name:
            edits.append(f"name {_json(previous.name)} → {_json(document.name)}")
        if previous.order != document.order:
            edits.append(f"order {previous.order} → {document.order}")
        if previous.content != document.content:
            edits.append(_text_change(previous.content, document.content))
        if edits:
            changes.append(f"documents[key={key}]: {'; '.join(edits)}")
    changes += [
        f"documents[key={key}]: removed {_json(document.name)}"
        for key, document in old.items()
        if key not in new
    ]
    return changes
