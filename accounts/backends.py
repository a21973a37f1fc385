"""Browser sign-in: mozilla-django-oidc's authorization-code backend, fitted to Aether.

What differs from the library's defaults, and why:

* endpoints and keys come from ``accounts.oidc`` (discovery, cached) at request time, never from
  settings read when the backend is built;
* the ID token is verified by ``accounts.tokens`` (issuer, audience, expiry and nonce, a token
  without ``kid`` only against a single-key JWKS), not by the library's partial check;
* users are matched by ``sub`` only and created race-safely by ``accounts.services.user_sign_in``;
* every successful sign-in sends ``accounts.signals.user_authenticated``;
* the ID token's ``sid`` is left on the request for the session's record (``accounts.sessions``),
  so that the provider's back-channel logout can end this session.
"""

import logging
from typing import Any

import requests
from django.conf import settings
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts import oidc, tokens
from accounts.models import BrowserSession, User
from accounts.selectors import user_by_sub
from accounts.services import user_sign_in
from accounts.sessions import PROVIDER_SID_ATTRIBUTE
from accounts.signals import user_authenticated

logger = logging.getLogger("aether.oidc")

SID_MAX_LENGTH = BrowserSession._meta.get_field("sid").max_length


class ProviderError(Exception):
    """The provider could not be reached or refused the code exchange; the sign-in page says so."""


class OIDCBackend(OIDCAuthenticationBackend):
    """Authorization-code sign-in against ``OIDC_ISSUER``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library reads endpoints, client and keys from settings here; Aether resolves them per
        # request, and its verify_token (accounts.tokens) replaces the library's, the only reader of
        # OIDC_RP_SIGN_ALGO and OIDC_RP_IDP_SIGN_KEY.
        self.UserModel = User

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:
        return settings.OIDC_CLIENT_ID

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:
        return settings.OIDC_CLIENT_SECRET

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return oidc.endpoint("token_endpoint")

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return oidc.endpoint("userinfo_endpoint")

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        """Exchange the code, verify the ID token, sign the user in; ``None`` if refused.

        Raises ``ProviderError`` when the provider is unreachable or fails (5xx), for the callback
        view to show a page saying so; a 4xx refusal of the code exchange is a refused sign-in.
        Username/password attempts (the admin) pass through.
        """
        if request is None or "nonce" not in kwargs or not oidc.is_configured():
            # Not a callback of the authorization-code flow (the admin's password form, say).
            return None
        try:
            return super().authenticate(request, **kwargs)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status is not None and 400 <= status < 500:
                # The provider refused the code (invalid_grant: used twice, expired; a PKCE
                # mismatch): a refused sign-in, not an unreachable provider.
                logger.warning("sign-in refused by the provider's token endpoint", extra={"error": str(exc)})
                return None
            logger.warning("sign-in failed at the provider", extra={"error": str(exc)})
            raise ProviderError(str(exc)) from exc
        except (oidc.ProviderUnavailable, requests.RequestException) as exc:
            logger.warning("sign-in failed at the provider", extra={"error": str(exc)})
            raise ProviderError(str(exc)) from exc
        except tokens.InvalidToken as exc:
            logger.warning("sign-in refused: invalid ID token", extra={"error": str(exc)})
            return None

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        if not token:
            raise tokens.InvalidToken("The provider sent no ID token.")
        return tokens.verify_id_token(token, nonce=kwargs.get("nonce"))

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User | None:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload["sub"]:
            # OpenID Connect Core 5.3.4: userinfo about another subject must not be used.
            logger.warning("sign-in refused: userinfo sub differs from the ID token's")
            return None
        claims = {**payload, **userinfo, **self._access_token_roles(access_token)}
        try:
            user, created = user_sign_in(claims=claims, known=user_by_sub(claims["sub"]))
        except User.DoesNotExist:
            logger.warning("sign-in refused: the user was deleted while signing in")
            return None
        if not user.is_active:
            return None
        sid = payload.get("sid")
        if isinstance(sid, str) and 0 < len(sid) <= SID_MAX_LENGTH:
            # From the verified ID token only: userinfo is not signed and says nothing about sessions.
            setattr(self.request, PROVIDER_SID_ATTRIBUTE, sid)
        user_authenticated.send(sender=type(self), user=user, claims=claims, created=created, via="browser")
        return user

    @staticmethod
    def _access_token_roles(access_token: str) -> dict[str, Any]:
        """Keycloak's role claims from a JWT access token, which carries them by default.

        Keycloak puts ``realm_access``/``resource_access`` in the access token but not, unless a
        mapper says so, in the ID token or userinfo. The token is verified like a bearer token; an
        opaque or unverifiable one simply contributes nothing.
        """
        if not access_token or not oidc.looks_like_jwt(access_token):
            return {}
        try:
            claims = tokens.verify_access_token(access_token)
        except (tokens.InvalidToken, oidc.ProviderUnavailable):
            return {}
        return {name: claims[name] for name in ("realm_access", "resource_access") if name in claims}

    def get_user(self, user_id: Any) -> User | None:
        """The session's user, unless disabled since signing in.

        The library's version drops ``ModelBackend``'s ``is_active`` check, which would keep a
        disabled account signed in for the rest of its session.
        """
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None
