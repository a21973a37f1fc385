from django.db import migrations, models

# How onboarding.services worded every timeout before runs recorded it in a field of their own.
TIMEOUT_WORDING = "Onboarding timed out after"


def mark_earlier_timeouts(apps, schema_editor) -> None:
    OnboardingRun = apps.get_model("onboarding", "OnboardingRun")
    OnboardingRun.objects.filter(status="failed", error__startswith=TIMEOUT_WORDING).update(timed_out=True)


class Migration(migrations.Migration):
    dependencies = [
        ("onboarding", "0002_default_blueprint"),
    ]

    operations = [
        migrations.AddField(
            model_name="onboardingrun",
            name="timed_out",
            field=models.BooleanField(
                default=False, help_text="The run failed because it outlasted ONBOARDING_TIMEOUT_SECONDS."
            ),
        ),
        migrations.RunPython(mark_earlier_timeouts, migrations.RunPython.noop),
    ]
