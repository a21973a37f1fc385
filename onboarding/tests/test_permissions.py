"""The group "Onboarding managers": made by a data migration, with exactly what onboarding staff need."""

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from onboarding.permissions import ONBOARDING_MANAGERS, grant_group_permissions

EXPECTED = {
    "accounts.view_user",
    "accounts.view_space",
    "accounts.view_membership",
    "notebooks.view_notebook",
    "notebooks.view_document",
    "notebooks.view_agent",
    "onboarding.view_onboardingrun",
    "onboarding.view_onboardingstep",
    "onboarding.view_blueprint",
    "onboarding.change_blueprint",
    "onboarding.rerun_onboarding",
}


def held(group: Group) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


@pytest.mark.django_db
def test_the_group_holds_onboarding_management_and_nothing_more():
    group = Group.objects.get(name=ONBOARDING_MANAGERS)

    assert held(group) == EXPECTED
    # Sign-in puts staff in the group the migration made: accounts names it in the settings.
    assert settings.OIDC_STAFF_GROUP == ONBOARDING_MANAGERS


@pytest.mark.django_db(transaction=True)
def test_the_migration_creates_the_permissions_it_needs_on_a_fresh_database():
    executor = MigrationExecutor(connection)
    executor.migrate([("onboarding", "0006_sample_texts_describe_the_product")])
    assert not Group.objects.filter(name=ONBOARDING_MANAGERS).exists()
    # As on a fresh database: post_migrate, which creates permissions, has not run yet.
    Permission.objects.filter(content_type__app_label__in=["accounts", "notebooks", "onboarding"]).delete()

    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert held(Group.objects.get(name=ONBOARDING_MANAGERS)) == EXPECTED
    # post_migrate, which follows, finds them made with its own names and adds no second copy.
    for label in ("accounts", "notebooks", "onboarding"):
        create_permissions(apps.get_app_config(label), verbosity=0)
    assert Permission.objects.get(codename="rerun_onboarding").name == "Can re-run onboarding"
    assert Permission.objects.filter(codename="view_user").count() == 1


@pytest.mark.django_db
def test_granting_a_permission_that_does_not_exist_fails_loudly():
    with pytest.raises(LookupError, match=r"No such permissions: onboarding\.view_launch\."):
        grant_group_permissions(apps, ONBOARDING_MANAGERS, ["onboarding.view_launch", "accounts.view_user"])
    with pytest.raises(ValueError, match=r"app_label\.codename"):
        grant_group_permissions(apps, ONBOARDING_MANAGERS, ["view_user"])

    assert held(Group.objects.get(name=ONBOARDING_MANAGERS)) == EXPECTED
