"""Load version 1 of the onboarding blueprint from ``onboarding/blueprint_default/``.

The loader is a frozen copy, not an import of ``onboarding.defaults``: a migration must keep doing
what it did when it was written, whatever later happens to the app's code. The text files it reads
are data.
"""

import json
from pathlib import Path

from django.db import migrations

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "blueprint_default"


def default_blueprint_spec() -> tuple[dict[str, object], list[dict[str, object]]]:
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


def load_default_blueprint(apps, schema_editor):
    Blueprint = apps.get_model("onboarding", "Blueprint")
    BlueprintDocument = apps.get_model("onboarding", "BlueprintDocument")
    if Blueprint.objects.exists():
        return
    fields, documents = default_blueprint_spec()
    blueprint = Blueprint.objects.create(version=1, change_note="Default blueprint", **fields)
    BlueprintDocument.objects.bulk_create(
        BlueprintDocument(blueprint=blueprint, **document) for document in documents
    )


def remove_default_blueprint(apps, schema_editor):
    apps.get_model("onboarding", "Blueprint").objects.filter(version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("onboarding", "0001_initial")]

    operations = [migrations.RunPython(load_default_blueprint, remove_default_blueprint)]
