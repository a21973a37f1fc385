"""Load version 1 of the onboarding blueprint from ``onboarding/blueprint_default/``."""

from django.db import migrations

from onboarding.defaults import default_blueprint_spec


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
