"""Validators for text that every app's models share."""

import unicodedata

from django.core.exceptions import ValidationError

# Characters that reorder the text around them: in a name they can make "report\u202etxt.exe" read
# as "reportexe.txt".
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def validate_name_characters(value: object) -> None:
    """A name is one line of visible text: no control characters, line breaks or direction overrides."""
    if not isinstance(value, str):
        return
    for character in value:
        if character in BIDI_CONTROLS or unicodedata.category(character) in {"Cc", "Zl", "Zp"}:
            raise ValidationError(
                "Names cannot contain control characters, line breaks or text-direction overrides.",
                code="invalid_characters",
            )
