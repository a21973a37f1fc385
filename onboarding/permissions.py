"""Who manages onboarding in the admin: the group "Onboarding managers" and the permissions it holds.

Migration ``0007_onboarding_managers`` creates the group. Sign-in puts every holder of one of
``OIDC_STAFF_ROLES`` in it: ``settings.OIDC_STAFF_GROUP`` names the same group, since ``accounts``
knows nothing of this app.

A later feature that onboarding managers must use from the admin grants its permissions to the group
in a migration of its own, after the one that creates its model, with the helpers below:

    from onboarding.permissions import grant_group_permissions, revoke_group_permissions

    # Frozen: what this migration grants.
    GROUP = "Onboarding managers"
    PERMISSIONS = ["onboarding.view_rollout", "onboarding.change_rollout"]

    def grant(apps, schema_editor):
        grant_group_permissions(apps, GROUP, PERMISSIONS, using=schema_editor.connection.alias)

    def revoke(apps, schema_editor):
        revoke_group_permissions(apps, GROUP, PERMISSIONS, using=schema_editor.connection.alias)

    operations = [migrations.RunPython(grant, revoke)]

and adds the migration's module to ``GROUP_MIGRATIONS`` below: tests that flush the database (live
servers, transactional tests) lose what data migrations made, and the root ``conftest.py`` puts it
back from there.

The helpers work on the models of the ``apps`` they are given (a migration's historical ones), so a
migration that calls them keeps doing what it did when it was written; change them only compatibly.
"""

from collections.abc import Iterable

from django.apps import apps as installed_apps
from django.contrib.auth.management import create_permissions
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q

ONBOARDING_MANAGERS = "Onboarding managers"
# The migrations that grant permissions to groups, each with GROUP and PERMISSIONS, oldest first.
GROUP_MIGRATIONS = ("onboarding.migrations.0007_onboarding_managers",)


def _parse(permissions: Iterable[str]) -> list[tuple[str, str]]:
    parsed = []
    for permission in permissions:
        app_label, dot, codename = permission.partition(".")
        if not dot or not app_label or not codename:
            raise ValueError(f"Name permissions as 'app_label.codename', not {permission!r}.")
        parsed.append((app_label, codename))
    if not parsed:
        raise ValueError("Name at least one permission.")
    return parsed


def _permissions(apps, alias: str, wanted: list[tuple[str, str]]) -> list:
    """The ``Permission`` rows for ``wanted``, created first if ``post_migrate`` has not made them yet.

    On a fresh database the permissions do not exist while migrations run: Django creates them
    after the last migration, in ``post_migrate``. ``create_permissions`` with the historical
    ``apps`` makes them now, with the names ``post_migrate`` would give them, so it skips them later.
    """
    for app_label in sorted({app_label for app_label, _codename in wanted}):
        create_permissions(installed_apps.get_app_config(app_label), apps=apps, using=alias, verbosity=0)
    Permission = apps.get_model("auth", "Permission")
    query = Q()
    for app_label, codename in wanted:
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.using(alias).filter(query).select_related("content_type"))
    missing = set(wanted) - {(p.content_type.app_label, p.codename) for p in found}
    if missing:
        names = ", ".join(sorted(f"{app_label}.{codename}" for app_label, codename in missing))
        raise LookupError(f"No such permissions: {names}.")
    return found


def grant_group_permissions(
    apps, group_name: str, permissions: Iterable[str], *, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Give the group (created if missing) these ``app_label.codename`` permissions; keep the others."""
    found = _permissions(apps, using, _parse(permissions))
    group, _created = apps.get_model("auth", "Group").objects.using(using).get_or_create(name=group_name)
    group.permissions.add(*found)


def revoke_group_permissions(
    apps, group_name: str, permissions: Iterable[str], *, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Take these permissions from the group; delete the group once it holds none at all."""
    group = apps.get_model("auth", "Group").objects.using(using).filter(name=group_name).first()
    if group is None:
        return
    Permission = apps.get_model("auth", "Permission")
    query = Q()
    for app_label, codename in _parse(permissions):
        query |= Q(content_type__app_label=app_label, codename=codename)
    group.permissions.remove(*Permission.objects.using(using).filter(query))
    if not group.permissions.exists():
        group.delete()
