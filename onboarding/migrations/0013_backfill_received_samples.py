"""Record what every user onboarded before this migration received: the samples of the version their
last completed run used, with the names and texts that version had, as a first onboarding records them.

Their documents may have been renamed, edited or deleted since: that is what roll-outs will tell from
this record. Users without a completed run received nothing yet and keep an empty record.
"""

import hashlib

from django.db import migrations
from django.db.models import OuterRef, Subquery


def receipts(documents) -> dict[str, dict[str, object]]:
    return {
        document.key: {
            "version": document.blueprint.version,
            "name": document.name,
            "sha256": hashlib.sha256(document.content.encode("utf-8")).hexdigest(),
        }
        for document in documents
    }


def backfill(apps, schema_editor):
    Blueprint = apps.get_model("onboarding", "Blueprint")
    OnboardingRun = apps.get_model("onboarding", "OnboardingRun")
    UserOnboarding = apps.get_model("onboarding", "UserOnboarding")
    last_completed = OnboardingRun.objects.filter(
        user_id=OuterRef("user_id"), status="completed", blueprint_version__isnull=False
    ).order_by("-started_at")
    states = UserOnboarding.objects.annotate(
        last_version=Subquery(last_completed.values("blueprint_version")[:1])
    )
    # Every user of one version received the same: one statement per version.
    for blueprint in Blueprint.objects.prefetch_related("documents"):
        received = receipts(blueprint.documents.all())
        states.filter(last_version=blueprint.version).update(received=received)


class Migration(migrations.Migration):
    dependencies = [
        ("onboarding", "0012_useronboarding_received"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
