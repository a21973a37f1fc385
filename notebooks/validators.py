"""Validators shared by the notebooks models, forms and serializers."""

from django.core.exceptions import ValidationError

TAG_MAX_LENGTH = 50
TAGS_MAX_COUNT = 20


def validate_tags(value: object) -> None:
    """Tags are a list of at most 20 distinct, non-empty strings of at most 50 characters."""
    if not isinstance(value, list):
        raise ValidationError("Tags must be a list of strings.", code="invalid")
    if len(value) > TAGS_MAX_COUNT:
        raise ValidationError(f"At most {TAGS_MAX_COUNT} tags are allowed.", code="max_length")
    for tag in value:
        if not isinstance(tag, str) or not tag.strip():
            raise ValidationError("Each tag must be a non-empty string.", code="invalid")
        if len(tag) > TAG_MAX_LENGTH:
            raise ValidationError(
                f"Tag {tag[:20]!r}… is longer than {TAG_MAX_LENGTH} characters.", code="max_length"
            )
    if len(set(value)) != len(value):
        raise ValidationError("Tags must not repeat.", code="duplicate")


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def validate_metadata(value: object) -> None:
    """Document metadata is a JSON object without NUL characters (PostgreSQL's jsonb refuses them)."""
    if not isinstance(value, dict):
        raise ValidationError("Metadata must be a JSON object.", code="invalid")
    if _has_nul(value):
        raise ValidationError("Metadata must not contain NUL characters.", code="null_characters")
