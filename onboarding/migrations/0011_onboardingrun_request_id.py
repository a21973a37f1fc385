from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("onboarding", "0010_onboardingrun_started_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="onboardingrun",
            name="request_id",
            field=models.CharField(
                blank=True,
                help_text=(
                    "The id of the request that started the run (its X-Request-ID, in every log line of "
                    "that request); empty for runs started by a command."
                ),
                max_length=128,
            ),
        ),
    ]
