"""The permission to re-run onboarding, and the group "Onboarding managers" that holds what staff need.

Sign-in puts holders of ``OIDC_STAFF_ROLES`` in the group (``settings.OIDC_STAFF_GROUP``). Later
features add their permissions to it in migrations of their own (see ``onboarding/permissions.py``).
"""

from django.db import migrations

from onboarding.permissions import grant_group_permissions, revoke_group_permissions

# Frozen here: what the group held when this migration was written.
GROUP = "Onboarding managers"
PERMISSIONS = [
    "accounts.view_user",
    "accounts.view_space",
    "accounts.view_membership",
    "notebooks.view_notebook",
    "notebooks.view_document",
    "notebooks.view_agent",
    "onboarding.view_onboardingrun",
    "onboarding.view_onboardingstep",
    "onboarding.view_blueprint",
    # Publishing a blueprint version is changing the blueprint.
    "onboarding.change_blueprint",
    "onboarding.rerun_onboarding",
]


def create_group(apps, schema_editor):
    grant_group_permissions(apps, GROUP, PERMISSIONS, using=schema_editor.connection.alias)


def delete_group(apps, schema_editor):
    revoke_group_permissions(apps, GROUP, PERMISSIONS, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("onboarding", "0006_sample_texts_describe_the_product"),
        ("accounts", "0006_user_role_groups"),
        ("notebooks", "0005_name_characters"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="useronboarding",
            options={
                "permissions": [("rerun_onboarding", "Can re-run onboarding")],
                "verbose_name": "user onboarding",
            },
        ),
        migrations.RunPython(create_group, delete_group),
    ]
