"""The default blueprint, kept as text files in ``onboarding/blueprint_default/``.

The data migration loads it as version 1; test set-ups that flush the database load it again.
"""

import json
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parent / "blueprint_default"


def default_blueprint_spec() -> tuple[dict[str, object], list[dict[str, object]]]:
    """The default blueprint's fields and its documents (``key``, ``name``, ``content``, ``order``)."""
    spec = json.loads((DEFAULT_DIR / "blueprint.json").read_text(encoding="utf-8"))
    documents = [
        {
            "key": item["key"],
            "name": item["name"],
            "content": (DEFAULT_DIR / item["file"]).read_text(encoding="utf-8"),
            "order": item["order"],
        }
        for item in spec.pop("documents")
    ]
    return spec, documents
