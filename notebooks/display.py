"""Documents' metadata in words, as the document page shows it."""

import json

# Keys onboarding writes on its sample documents (``source``, ``is_sample``, ``order``).
ONBOARDING_SOURCE = "onboarding"


def _value_in_words(value: object) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None:
        return "None"
    if isinstance(value, str):
        return value
    # Numbers, lists and objects as the API shows them (JSON's true, null, [..]).
    return json.dumps(value, ensure_ascii=False)


def _label(key: str) -> str:
    words = key.replace("_", " ").strip() or key
    return words[:1].upper() + words[1:]


def metadata_in_words(metadata: dict[str, object]) -> list[tuple[str, str]]:
    """``(label, value)`` pairs: onboarding's keys as a sentence, any other key as a readable label.

    ``{"source": "onboarding", "is_sample": true, "order": 2}`` ->
    ``[("Origin", "A sample guide, added when your workspace was set up"), ("Reading order", "2")]``.
    """
    rest = dict(metadata)
    words: list[tuple[str, str]] = []
    if rest.get("source") == ONBOARDING_SOURCE:
        del rest["source"]
        sample = rest.pop("is_sample", None) is True
        origin = "A sample guide, added" if sample else "Added"
        words.append(("Origin", f"{origin} when your workspace was set up"))
        order = rest.get("order")
        if isinstance(order, int) and not isinstance(order, bool):
            del rest["order"]
            words.append(("Reading order", f"{order}"))
    words.extend((_label(key), _value_in_words(value)) for key, value in rest.items())
    return words
