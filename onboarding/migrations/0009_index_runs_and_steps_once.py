import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Each of these foreign keys is the first column of another index already (or, for the actor, gets a
# partial one): the single-column indexes only cost writes. Dropped by name, so that the foreign key
# constraints stay as they are (AlterField would drop and validate them again, scanning the tables).
REDUNDANT_INDEXES = (
    ("onboarding_onboardingrun_actor_id_4043f452", "onboarding_onboardingrun", "actor_id"),
    ("onboarding_onboardingrun_user_id_2a440e27", "onboarding_onboardingrun", "user_id"),
    ("onboarding_onboardingstep_run_id_c46c59bc", "onboarding_onboardingstep", "run_id"),
)


class Migration(migrations.Migration):
    dependencies = [
        ("onboarding", "0008_step_names_from_their_definitions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="onboardingrun",
                    name="actor",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        help_text="The staff user or user who started the run, when not the sign-in itself.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="onboardingrun",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="onboarding_runs",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="onboardingstep",
                    name="run",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="steps",
                        to="onboarding.onboardingrun",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"', f'CREATE INDEX "{name}" ON "{table}" ("{column}")'
                )
                for name, table, column in REDUNDANT_INDEXES
            ],
        ),
        migrations.AddIndex(
            model_name="onboardingrun",
            index=models.Index(
                condition=models.Q(("actor__isnull", False)), fields=["actor"], name="onboarding_run_actor"
            ),
        ),
    ]
