"""Writes of notebooks, documents and agents.

Each function validates its input with the models' own validators before saving, so the API and the
web pages reject the same things with the same messages.
"""

import mimetypes
import uuid
from collections.abc import Iterable
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from accounts.models import Space, User
from aether.errors import TooLargeError
from aether.rows import hold_row, hold_rows, lock_row, touch_row
from notebooks import selectors
from notebooks.models import Agent, Document, Notebook
from notebooks.sizes import size_text

# Text formats a document may have; anything else is refused rather than stored unreadable.
TEXT_MIME_TYPES = frozenset(
    {"text/plain", "text/markdown", "text/csv", "text/html", "application/json", "application/xml"}
)

# Other names clients use for those formats.
MIME_TYPE_ALIASES = {
    "text/x-markdown": "text/markdown",
    "text/x-csv": "text/csv",
    "application/csv": "text/csv",
    "text/xml": "application/xml",
    "text/json": "application/json",
}
# What browsers send for a file whose extension they do not know (".md" on many systems).
GENERIC_MIME_TYPES = frozenset({"", "application/octet-stream"})
# Text formats by extension, not left to the system's mime.types, which varies between machines.
TEXT_EXTENSIONS = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".html": "text/html",
    ".htm": "text/html",
    ".json": "application/json",
    ".xml": "application/xml",
}

NOTEBOOK_FIELDS = frozenset({"name", "description", "tags", "visibility"})
DOCUMENT_FIELDS = frozenset({"name", "metadata"})
AGENT_FIELDS = frozenset(
    {"name", "description", "type", "model", "temperature", "max_tokens", "system_prompt", "tags"}
)


# An agent's knowledge: as many notebooks as one API page lists.
AGENT_KNOWLEDGE_MAX = 100


class DocumentTooLarge(TooLargeError):
    """The document is larger than ``DOCUMENT_MAX_BYTES``."""

    def __init__(self, size: int, limit: int) -> None:
        self.size, self.limit = size, limit
        super().__init__(f"The document is {size_text(size)}; the limit is {size_text(limit)}.")


def _clean_and_save(instance, *, exclude: Iterable[str] = ()) -> None:
    instance.full_clean(exclude=list(exclude))
    instance.save()


def _apply(instance, fields: dict[str, object], allowed: frozenset[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    for name, value in fields.items():
        setattr(instance, name, value)


def _require_free_notebook_name(notebook: Notebook) -> None:
    """Refuse a name another notebook of the space has, ignoring case (search ignores it too).

    Called holding the space's row lock (``_lock_space``), so two requests cannot both take a name.
    """
    taken = (
        Notebook.objects.filter(space_id=notebook.space_id, name__iexact=notebook.name)
        .exclude(pk=notebook.pk)
        .values_list("name", flat=True)
        .first()
    )
    if taken is not None:
        raise ValidationError(
            {"name": f"This space already has a notebook called “{taken}”; choose another name."},
            code="duplicate",
        )


def _lock_space(space_id: uuid.UUID) -> None:
    # FOR NO KEY UPDATE: serialises notebook names in the space without blocking the rows that
    # merely reference it (memberships, agents, other spaces' notebooks). A space deleted meanwhile
    # is gone: Space.DoesNotExist.
    lock_row(Space, space_id)


@transaction.atomic
def notebook_create(
    *,
    space: Space,
    owner: User,
    name: str,
    description: str = "",
    tags: list[str] | None = None,
    visibility: str = Notebook.Visibility.PRIVATE,
) -> Notebook:
    """Create a notebook in ``space``; its name must be free there (ignoring case)."""
    notebook = Notebook(
        space=space,
        owner=owner,
        name=name.strip(),
        description=description,
        tags=list(tags or []),
        visibility=visibility,
    )
    notebook.full_clean()
    _lock_space(space.pk)
    _require_free_notebook_name(notebook)
    notebook.save()
    return notebook


@transaction.atomic
def notebook_update(*, notebook: Notebook, **fields: object) -> Notebook:
    """Change the notebook's fields; a new name must be free in its space (ignoring case)."""
    if "name" in fields and isinstance(fields["name"], str):
        fields["name"] = fields["name"].strip()
    renamed = "name" in fields and fields["name"] != notebook.name
    _apply(notebook, fields, NOTEBOOK_FIELDS)
    notebook.full_clean()
    if renamed:
        _lock_space(notebook.space_id)
        _require_free_notebook_name(notebook)
    # Deleted since it was read: gone (a save would insert it again).
    lock_row(Notebook, notebook.pk)
    notebook.save()
    return notebook


@transaction.atomic
def notebook_delete(*, notebook: Notebook) -> None:
    """Delete the notebook and its documents; agents keep their other knowledge notebooks.

    Locked before its documents are collected: one added meanwhile is deleted with them, or refused.
    """
    lock_row(Notebook, notebook.pk, delete=True)
    notebook.delete()


def normalize_mime_type(mime_type: str) -> str:
    """``"Text/X-Markdown; charset=utf-8"`` -> ``"text/markdown"``: the base type, aliases resolved."""
    base_type = mime_type.split(";", 1)[0].strip().lower()
    return MIME_TYPE_ALIASES.get(base_type, base_type)


def upload_mime_type(*, declared: str | None, filename: str) -> str:
    """The type of an uploaded file: the one declared, unless it is the generic one browsers send
    for unknown extensions; then the text type its extension names, or a guess, else plain text
    (``document_text`` still refuses anything that is not UTF-8 text)."""
    mime_type = normalize_mime_type(declared or "")
    if mime_type not in GENERIC_MIME_TYPES:
        return mime_type
    extension = PurePosixPath(filename.lower()).suffix
    if extension in TEXT_EXTENSIONS:
        return TEXT_EXTENSIONS[extension]
    guessed, _encoding = mimetypes.guess_type(filename)
    return normalize_mime_type(guessed) if guessed else "text/plain"


def document_text(*, data: bytes | str, mime_type: str) -> str:
    """Return the document's text; raise ``DocumentTooLarge`` or ``ValidationError`` if unfit."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    limit = settings.DOCUMENT_MAX_BYTES
    if len(raw) > limit:
        raise DocumentTooLarge(len(raw), limit)
    base_type = normalize_mime_type(mime_type)
    if base_type not in TEXT_MIME_TYPES:
        allowed = ", ".join(sorted(TEXT_MIME_TYPES))
        raise ValidationError({"file": f"Documents must be text ({allowed}), not {base_type or 'unknown'}."})
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError({"file": "The document is not UTF-8 text."}) from None
    if "\x00" in text:
        # Not text, and PostgreSQL cannot store it in a text column.
        raise ValidationError({"file": "The document contains NUL characters; it is not text."})
    return text


def document_create(
    *,
    notebook: Notebook,
    name: str,
    data: bytes | str,
    mime_type: str = "text/plain",
    metadata: dict | None = None,
) -> Document:
    """Store a text document in the notebook (refusing oversized or non-text data) and touch the notebook."""
    text = document_text(data=data, mime_type=mime_type)
    document = Document(
        notebook=notebook,
        name=name.strip(),
        mime_type=normalize_mime_type(mime_type),
        content=text,
        size_bytes=len(text.encode("utf-8")),
        metadata=metadata if metadata is not None else {},
    )
    with transaction.atomic():
        # First, so that a notebook deleted meanwhile is gone (404) and one being deleted waits.
        touch_row(notebook)
        _clean_and_save(document, exclude=["file"])
    return document


def document_create_from_upload(
    *,
    notebook: Notebook,
    upload: UploadedFile,
    name: str | None = None,
    mime_type: str | None = None,
    metadata: dict | None = None,
) -> Document:
    """Store an uploaded file as a document, named after the file unless ``name`` is given, of the
    type ``mime_type`` or else the one the client declared (see ``upload_mime_type``)."""
    limit = settings.DOCUMENT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise DocumentTooLarge(upload.size, limit)
    filename = upload.name or ""
    document_name = (name or "").strip() or filename.strip() or "document.txt"
    declared = mime_type or getattr(upload, "content_type", None)
    return document_create(
        notebook=notebook,
        name=document_name,
        data=upload.read(),
        mime_type=upload_mime_type(declared=declared, filename=filename or document_name),
        metadata=metadata,
    )


def document_update(*, document: Document, **fields: object) -> Document:
    """Rename the document or replace its metadata, and touch its notebook.

    Only the changed columns are validated and written: the text, which may be megabytes and is
    usually not even loaded (``document_in_space`` defers it), is neither read nor rewritten.
    """
    if "name" in fields and isinstance(fields["name"], str):
        fields["name"] = fields["name"].strip()
    _apply(document, fields, DOCUMENT_FIELDS)
    with transaction.atomic():
        # The notebook first, as every write under it: deleted meanwhile, both are gone (404), before
        # validation would call the notebook invalid.
        touch_row(document.notebook)
        lock_row(Document, document.pk)
        document.full_clean(exclude=["content", "file"])
        document.save(update_fields=[*sorted(fields), "updated_at"])
    return document


def document_delete(*, document: Document) -> None:
    """Delete the document and touch its notebook; either deleted meanwhile: ``DoesNotExist``."""
    with transaction.atomic():
        touch_row(document.notebook)
        lock_row(Document, document.pk, delete=True)
        document.delete()


def agent_knowledge(*, space: Space, notebook_ids: Iterable[uuid.UUID | str]) -> list[Notebook]:
    """The notebooks named by id, all in ``space``; an id of another space's notebook is refused with
    the same message as an unknown one, so nobody learns what exists elsewhere."""
    notebook_ids = list(notebook_ids)
    if len(set(map(str, notebook_ids))) > AGENT_KNOWLEDGE_MAX:
        raise ValidationError(
            {"notebook_ids": f"An agent can draw on at most {AGENT_KNOWLEDGE_MAX} notebooks."},
            code="max_length",
        )
    wanted: set[uuid.UUID] = set()
    missing: set[object] = set()
    for notebook_id in notebook_ids:
        try:
            wanted.add(uuid.UUID(str(notebook_id)))
        except ValueError:
            missing.add(notebook_id)
    notebooks = selectors.notebooks_with_ids(space, wanted)
    # Kept until the agent's knowledge is saved: one deleted meanwhile is as unknown as any other.
    held = hold_rows(Notebook, [notebook.pk for notebook in notebooks])
    notebooks = [notebook for notebook in notebooks if notebook.pk in held]
    missing |= wanted - held
    if missing:
        raise ValidationError(
            {
                "notebook_ids": [
                    f"No notebook {notebook_id} in this space." for notebook_id in sorted(missing, key=str)
                ]
            }
        )
    return notebooks


@transaction.atomic
def agent_create(
    *, space: Space, owner: User, notebook_ids: Iterable[uuid.UUID | str] = (), **fields: object
) -> Agent:
    """Create an agent whose knowledge is the given notebooks of its own space."""
    unknown = set(fields) - AGENT_FIELDS
    if unknown:
        raise ValidationError({name: "Unknown field." for name in sorted(unknown)})
    hold_row(Space, space.pk)
    knowledge = agent_knowledge(space=space, notebook_ids=notebook_ids)
    agent = Agent(space=space, owner=owner, **fields)
    _clean_and_save(agent)
    agent.knowledge_notebooks.set(knowledge)
    return agent


@transaction.atomic
def agent_update(
    *, agent: Agent, notebook_ids: Iterable[uuid.UUID | str] | None = None, **fields: object
) -> Agent:
    """Change the agent's fields and, when ``notebook_ids`` is given, replace its knowledge."""
    # Deleted since it was read: gone (a save would insert it again).
    lock_row(Agent, agent.pk)
    _apply(agent, fields, AGENT_FIELDS)
    knowledge = (
        None if notebook_ids is None else agent_knowledge(space=agent.space, notebook_ids=notebook_ids)
    )
    _clean_and_save(agent)
    if knowledge is not None:
        agent.knowledge_notebooks.set(knowledge)
    return agent


@transaction.atomic
def agent_delete(*, agent: Agent) -> None:
    """Delete the agent (its knowledge links go with it); deleted meanwhile: ``DoesNotExist``."""
    lock_row(Agent, agent.pk, delete=True)
    agent.delete()
