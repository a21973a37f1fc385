"""API authentication with ``Authorization: Bearer <access token>``.

A JWT access token (Keycloak's kind) is verified locally against the issuer's cached JWKS: no call
to the provider per request. An opaque token (the development provider's kind) is checked at the
provider's userinfo endpoint, and the answer is cached for ``USERINFO_CACHE_SECONDS`` (a refusal for
``USERINFO_REFUSAL_CACHE_SECONDS``, so a client retrying a dead token does not reach the provider
at every request). Every refusal
is a 401 with ``WWW-Authenticate: Bearer`` and a JSON ``{"detail": ...}``, never a 500.

An address that sent too many bad tokens (``AUTH_FAILURE_THROTTLE``) gets a 429 whatever it sends.
Its count is read before an opaque token is checked, since that check costs the provider a call. A
JWT is checked here, locally (the key set is fetched again at most once a minute), so its address's
count is read after, in the statement that reads the token's user: one round trip fewer on every
call. Either way the count is read before the user is created or changed.
"""

import hashlib
import logging
from typing import Any

from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts import oidc, tokens
from accounts.models import User
from accounts.selectors import user_by_sub
from accounts.services import user_sign_in
from accounts.signals import user_authenticated
from aether.throttling.auth_failures import failures_reading, record_failure, refuse_if_failing_too_often

logger = logging.getLogger("aether.oidc")

# How long a userinfo answer for an opaque token is trusted; a revoked token works at most this long.
USERINFO_CACHE_SECONDS = 60
# How long the provider's refusal of an opaque token is remembered.
USERINFO_REFUSAL_CACHE_SECONDS = 30
# Cached in place of claims for a token the provider refused.
_REFUSED = "refused"


def _opaque_token_claims(token: str) -> dict[str, Any]:
    # The cache key is a hash: the token itself never lands in the cache backend.
    key = "aether:userinfo:" + hashlib.sha256(f"{oidc.issuer()}|{token}".encode()).hexdigest()
    claims = cache.get(key)
    if claims is None:
        claims = oidc.fetch_userinfo(token)
        if claims is None:
            cache.set(key, _REFUSED, USERINFO_REFUSAL_CACHE_SECONDS)
        else:
            cache.set(key, claims, USERINFO_CACHE_SECONDS)
    if claims is None or claims == _REFUSED:
        raise tokens.InvalidToken("The provider does not accept this token.")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise tokens.InvalidToken("The token has no subject.")
    return claims


class BearerTokenAuthentication(BaseAuthentication):
    """DRF authentication by an OpenID Connect access token.

    The first accepted token of a new ``sub`` creates the user.
    """

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, str] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            # No bearer token: let the next class (the session) try.
            return None
        if len(header) != 2:
            raise self._failure(request, "The Authorization header must be 'Bearer <token>'.")
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise self._failure(request, "The token must be ASCII.") from None
        return self._authenticate_token(request, token)

    def _failure(self, request: Request, message: str) -> exceptions.AuthenticationFailed:
        """A bad token: counted against the client's address (``AUTH_FAILURE_THROTTLE``).

        One failure more than that rate allows raises ``Throttled`` here instead.
        """
        record_failure(request)
        return exceptions.AuthenticationFailed(message)

    def _authenticate_token(self, request: Request, token: str) -> tuple[User, str]:
        if not oidc.is_configured():
            raise exceptions.AuthenticationFailed("Bearer tokens are not accepted: OIDC_ISSUER is not set.")
        is_jwt = oidc.looks_like_jwt(token)
        if not is_jwt:
            refuse_if_failing_too_often(request)
        try:
            claims = tokens.verify_access_token(token) if is_jwt else _opaque_token_claims(token)
        except tokens.InvalidToken as exc:
            raise self._failure(request, str(exc)) from exc
        except oidc.ProviderUnavailable as exc:
            logger.warning("bearer token could not be checked", extra={"error": str(exc)})
            raise exceptions.AuthenticationFailed("The identity provider cannot be reached.") from exc
        if is_jwt:
            failures = failures_reading(request)
            known = user_by_sub(claims["sub"], **failures.annotations())
            # A sub not seen before answers no row to read the count from.
            refuse_if_failing_too_often(request, failures.window(known) if known else None)
        else:
            known = user_by_sub(claims["sub"])
        try:
            user, created = user_sign_in(claims=claims, known=known)
        except User.DoesNotExist as exc:
            raise exceptions.AuthenticationFailed("This account was deleted.") from exc
        if not user.is_active:
            raise exceptions.AuthenticationFailed("This account is disabled.")
        user_authenticated.send(sender=type(self), user=user, claims=claims, created=created, via="bearer")
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
