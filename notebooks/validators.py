"""Validators shared by the notebooks models, forms and serializers."""

import json
import unicodedata

from django.core.exceptions import ValidationError

from aether.validators import validate_name_characters

TAG_MAX_LENGTH = 50
TAGS_MAX_COUNT = 20
METADATA_MAX_DEPTH = 10
# Free-text fields: generous for prose, bounded so one row cannot grow to the request size limit.
DESCRIPTION_MAX_LENGTH = 10_000
SYSTEM_PROMPT_MAX_LENGTH = 32_000
METADATA_MAX_BYTES = 16 * 1024
SEARCH_QUERY_MAX_LENGTH = 100


def validate_search_query(value: str) -> None:
    """A notebook search query: 1 to 100 characters, none of them a control character.

    Control characters are never typed, and the search text joins its fields with one
    (``notebooks.models.SEARCH_SEPARATOR``), so a query holding one could match across two fields.
    """
    if not value:
        raise ValidationError("Type something to search for.", code="required")
    if len(value) > SEARCH_QUERY_MAX_LENGTH:
        raise ValidationError(
            f"Search for at most {SEARCH_QUERY_MAX_LENGTH} characters (this is {len(value)}).",
            code="max_length",
        )
    if any(unicodedata.category(character) == "Cc" for character in value):
        raise ValidationError("The query must not contain control characters.", code="invalid")


def validate_tags(value: object) -> None:
    """Tags are a list of at most 20 non-empty one-line strings of at most 50 characters, distinct
    when compared ignoring case.

    Search ignores case, so ``ML`` and ``ml`` would find the same notebooks: the second is refused
    with a message naming both, rather than kept or silently merged. Its codes are not ``invalid``:
    a model field replaces a validator's message by its own message for the same code, and a
    JSONField's ``invalid`` says only "Value must be valid JSON."
    """
    if not isinstance(value, list):
        raise ValidationError("Tags must be a list of strings.", code="invalid_tags")
    if len(value) > TAGS_MAX_COUNT:
        raise ValidationError(f"At most {TAGS_MAX_COUNT} tags are allowed.", code="max_length")
    seen: dict[str, str] = {}
    for tag in value:
        if not isinstance(tag, str) or not tag.strip():
            raise ValidationError("Each tag must be a non-empty string.", code="invalid_tags")
        if len(tag) > TAG_MAX_LENGTH:
            raise ValidationError(
                f"Tag {tag[:20]!r}… is longer than {TAG_MAX_LENGTH} characters.", code="max_length"
            )
        validate_name_characters(tag)
        earlier = seen.get(tag.casefold())
        if earlier == tag:
            raise ValidationError("Tags must not repeat.", code="duplicate")
        if earlier is not None:
            raise ValidationError(
                f"Tags must not repeat, ignoring case: “{earlier}” and “{tag}” are the same tag.",
                code="duplicate",
            )
        seen[tag.casefold()] = tag


def _check_shape(value: object) -> None:
    """Walk the metadata without recursion: refuse NUL characters and nesting deeper than allowed.

    Iterative on purpose: a recursive walk of metadata nested a few hundred levels deep would raise
    ``RecursionError`` before it could refuse it.
    """
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValidationError("Metadata must not contain NUL characters.", code="null_characters")
            continue
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            continue
        if depth > METADATA_MAX_DEPTH:
            raise ValidationError(
                f"Metadata may be nested at most {METADATA_MAX_DEPTH} levels deep.", code="too_deep"
            )
        pending.extend((child, depth + 1) for child in children)


def validate_metadata(value: object) -> None:
    """Document metadata is a small JSON object: at most 10 levels deep, 16 KiB as JSON, no NUL characters.

    PostgreSQL's jsonb refuses NUL characters; the bounds keep every later walk of it (JSON encoding,
    the admin, the pages) cheap and safe.
    """
    if not isinstance(value, dict):
        raise ValidationError("Metadata must be a JSON object.", code="invalid")
    _check_shape(value)
    # Safe to encode now that the depth is bounded.
    try:
        size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError):
        raise ValidationError("Metadata must be a JSON object.", code="invalid") from None
    if size > METADATA_MAX_BYTES:
        raise ValidationError(
            f"Metadata may be at most {METADATA_MAX_BYTES // 1024} KiB as JSON; this is {size} bytes.",
            code="max_length",
        )
