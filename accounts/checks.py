"""System checks: `runserver`, `migrate` and `check` say when sign-in or sign-out cannot work."""

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register

from accounts.sessions import sessions_kept_server_side


@register()
def oidc_configuration(app_configs: Any, **kwargs: Any) -> list[Warning]:
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
