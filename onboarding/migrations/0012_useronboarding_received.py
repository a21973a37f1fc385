from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("onboarding", "0011_onboardingrun_request_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="useronboarding",
            name="received",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text=(
                    "The sample documents the user received, by key: the version each came from, its name "
                    "and its text's SHA-256 then. Roll-outs read it to keep what the user renamed, edited "
                    "or deleted."
                ),
            ),
        ),
    ]
