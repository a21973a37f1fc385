"""Publish a blueprint version whose sample guides describe only what Aether does.

The first guides told people to ask the Personal Assistant questions; agents are stored
configurations and nothing in Aether calls a model. The new texts are the files in
``onboarding/blueprint_default/`` (which a fresh database's version 1 already loads, so there this
migration finds nothing to change and publishes nothing).

Users onboarded before keep the documents they received: a new version changes what new users get.
The version is derived from the current one, whatever staff published since, and changes only what
still holds the original words: a sample document whose text is the first version's (compared
without line-ending and trailing-space differences, which editing in the admin can introduce) and the
agent's first description. Anything staff rewrote stays theirs; when nothing is left to change,
nothing is published.

It follows ``onboarding.blueprints.blueprint_create_version`` (the advisory lock on PostgreSQL, the
next version number, the documents copied with their keys) with the historical models, as a
migration must: the service's code follows the models of today, this database's tables are those of
this point in the history.
"""

import hashlib
import json
from pathlib import Path

from django.db import migrations

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "blueprint_default"
# The key of the advisory lock blueprint publications take (onboarding.blueprints.PUBLISH_LOCK_KEY).
PUBLISH_LOCK_KEY = 0x6F6E62_0001
# SHA-256 of the first version's sample texts, normalised by ``_normalised``.
ORIGINAL_TEXTS = {
    "welcome": "66f76081b2cb4ecd0b9cd84ea6607583942a12b1c5d20c74ab4ced1887e8989a",
    "quick-start": "d48ac317e0b39aded085ed94c75b190743b7cda52df8f68614ad2d99fcc2ec19",
    "faq": "873825167978b30bb99d605fc0a280596c9aefb478aa2f77208a705c22accda8",
}
ORIGINAL_AGENT_DESCRIPTION = "Answers questions about your notebooks, starting with Getting Started."
CHANGE_NOTE = "Sample guides describe only what Aether does: agents are stored configurations."
# Columns a new version does not copy: they say which version it is, not what it holds.
NOT_COPIED = {"id", "version", "created_at", "created_by", "change_note"}


def _normalised(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def _fingerprint(text: str) -> str:
    return hashlib.sha256(_normalised(text).encode("utf-8")).hexdigest()


def _new_texts() -> tuple[dict[str, str], str]:
    spec = json.loads((DEFAULT_DIR / "blueprint.json").read_text(encoding="utf-8"))
    texts = {
        item["key"]: (DEFAULT_DIR / item["file"]).read_text(encoding="utf-8") for item in spec["documents"]
    }
    return texts, spec["agent_description"]


def publish_truthful_samples(apps, schema_editor):
    Blueprint = apps.get_model("onboarding", "Blueprint")
    BlueprintDocument = apps.get_model("onboarding", "BlueprintDocument")
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PUBLISH_LOCK_KEY])
    current = Blueprint.objects.order_by("-version").first()
    if current is None:
        return
    texts, agent_description = _new_texts()
    documents = list(BlueprintDocument.objects.filter(blueprint=current).order_by("order", "name"))
    changed = False
    for document in documents:
        if document.key in texts and _fingerprint(document.content) == ORIGINAL_TEXTS.get(document.key):
            document.content = texts[document.key]
            changed = True
    fields = {
        field.attname: getattr(current, field.attname)
        for field in Blueprint._meta.concrete_fields
        if field.name not in NOT_COPIED
    }
    if fields.get("agent_description") == ORIGINAL_AGENT_DESCRIPTION:
        fields["agent_description"] = agent_description
        changed = True
    if not changed:
        return
    blueprint = Blueprint.objects.create(version=current.version + 1, change_note=CHANGE_NOTE, **fields)
    BlueprintDocument.objects.bulk_create(
        BlueprintDocument(
            blueprint=blueprint,
            key=document.key,
            name=document.name,
            content=document.content,
            order=document.order,
        )
        for document in documents
    )


class Migration(migrations.Migration):
    dependencies = [("onboarding", "0005_useronboarding_notice_dismissed_at")]

    # Backwards: the published version stays, as every published version does.
    operations = [migrations.RunPython(publish_truthful_samples, migrations.RunPython.noop)]
