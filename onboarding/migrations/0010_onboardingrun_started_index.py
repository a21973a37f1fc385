from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("onboarding", "0009_index_runs_and_steps_once"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="onboardingrun",
            index=models.Index(fields=["-started_at"], name="onboarding_run_started"),
        ),
    ]
