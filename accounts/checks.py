"""System checks: `check` and `runserver` say when sign-in cannot work, every command when sign-out cannot.

Django runs every check before most management commands. A missing sign-in configuration matters to
someone checking the configuration or starting the server; repeated before `onboard_user`, `migrate`
or `shell` it is noise (a shell next to `make run` has no OIDC_ISSUER of its own), so it is only
reported for these two commands. A session engine that keeps sessions in cookies is worth hearing
about anywhere: it is a deliberate change that silently disables signing users out.
"""

import sys
from typing import Any

from django.conf import settings
from django.core.checks import Warning, register

from accounts.sessions import sessions_kept_server_side

REPORTED_BY = {"check", "runserver"}


def _command() -> str:
    """The management command this process runs, read as Django's ManagementUtility reads it."""
    return sys.argv[1] if len(sys.argv) > 1 else ""


@register()
def oidc_configuration(app_configs: Any, **kwargs: Any) -> list[Warning]:
    if _command() not in REPORTED_BY:
        return []
    if not settings.OIDC_ISSUER:
        return [
            Warning(
                "OIDC_ISSUER is not set: sign-in is disabled and 'Sign in' shows a page saying so.",
                hint="Set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET (see .env.example).",
                id="accounts.W001",
            )
        ]
    if not settings.OIDC_CLIENT_ID or not settings.OIDC_CLIENT_SECRET:
        return [
            Warning(
                "OIDC_ISSUER is set but OIDC_CLIENT_ID or OIDC_CLIENT_SECRET is empty: sign-in will fail.",
                hint="Register a confidential client at the provider and set both variables.",
                id="accounts.W002",
            )
        ]
    return []


@register()
def sessions_can_be_ended(app_configs: Any, **kwargs: Any) -> list[Warning]:
    if sessions_kept_server_side():
        return []
    return [
        Warning(
            f"SESSION_ENGINE is {settings.SESSION_ENGINE!r}: sessions live in the browser's cookie, so "
            "neither the provider's back-channel logout nor deactivating a user can end them.",
            hint="Keep sessions on the server: the database (the default), cache or cached_db engine.",
            id="accounts.W003",
        )
    ]
