"""Verification of the provider's JSON Web Tokens: ID tokens (browser) and access tokens (API).

Every check is made here, locally, against the issuer's cached JWKS: the signature, an algorithm in
``oidc.ALLOWED_ALGORITHMS``, ``exp``/``nbf``, ``iss == OIDC_ISSUER`` and the audience. Any failure
raises ``InvalidToken`` with a message fit for a 401 body or a log line.
"""

from typing import Any

import jwt
from django.conf import settings

from accounts import oidc

# Clock skew tolerated between Aether and the provider, in seconds.
LEEWAY_SECONDS = 30

# Keycloak puts the token's kind in a `typ` claim; these kinds must never open the API.
NOT_ACCESS_TOKEN_TYPES = {"id", "refresh", "offline", "logout"}

# Claims only an ID token carries (OpenID Connect Core 3.1.3.6, 3.3.2.11): a token with one of them
# is an ID token, whatever else it says.
ID_TOKEN_ONLY_CLAIMS = ("at_hash", "c_hash")

# JOSE header `typ` values an access token may carry (RFC 9068 says "at+jwt"); absent is accepted
# too, since many providers send none. Anything else ("id_token+jwt", "logout+jwt"...) is refused.
ACCESS_TOKEN_HEADER_TYPES = {"jwt", "at+jwt", "application/at+jwt"}


class InvalidToken(Exception):
    """The token was refused; the message says why."""


def _signing_key(token: str, *, refresh: bool = False) -> jwt.PyJWK:
    try:
        return oidc.signing_key_for(token, refresh=refresh)
    except oidc.UnknownSigningKey as exc:
        raise InvalidToken(str(exc)) from exc


def _decode(token: str, *, audience: str | None, require: list[str]) -> dict[str, Any]:
    key = _signing_key(token)
    try:
        return _verified_claims(token, key, audience=audience, require=require)
    except InvalidToken as exc:
        # A token without `kid` was checked against the one key the cache holds; the provider may
        # have replaced it since (the development provider makes a new key at every restart).
        # Fetch the key set again (rate-limited) and retry once if that brought another key.
        bad_signature = isinstance(exc.__cause__, jwt.InvalidSignatureError)
        if not bad_signature or "kid" in jwt.get_unverified_header(token):
            raise
        fresh = _signing_key(token, refresh=True)
        if fresh is key:
            raise
        return _verified_claims(token, fresh, audience=audience, require=require)


def _verified_claims(
    token: str, key: jwt.PyJWK, *, audience: str | None, require: list[str]
) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[key.algorithm_name],
            issuer=oidc.issuer(),
            audience=audience,
            leeway=LEEWAY_SECONDS,
            options={"require": require, "verify_aud": audience is not None},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("The token has expired.") from exc
    except jwt.ImmatureSignatureError as exc:
        raise InvalidToken("The token is not valid yet.") from exc
    except jwt.InvalidIssuerError as exc:
        raise InvalidToken("The token was issued by another issuer.") from exc
    except jwt.InvalidAudienceError as exc:
        raise InvalidToken("The token is meant for another audience.") from exc
    except jwt.InvalidSignatureError as exc:
        raise InvalidToken("The token's signature is invalid.") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"The token is invalid: {exc}") from exc
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidToken("The token has no subject.")
    return claims


def verify_id_token(token: str, *, nonce: str | None) -> dict[str, Any]:
    """Verify an ID token from the authorization-code exchange and return its claims.

    Beyond what mozilla-django-oidc checks, the audience and the issuer are verified, and an expired
    token is a clean failure rather than an exception from PyJWT.
    """
    claims = _decode(token, audience=settings.OIDC_CLIENT_ID, require=["exp", "iat", "iss", "sub", "aud"])
    if claims.get("nonce") != nonce:
        raise InvalidToken("The ID token's nonce does not match this sign-in.")
    return claims


def verify_access_token(token: str) -> dict[str, Any]:
    """Verify a JWT access token presented to the API and return its claims.

    ID tokens are refused: by Keycloak's ``typ`` claim, by the ID-token-only claims ``at_hash`` and
    ``c_hash``, or by a JOSE ``typ`` header other than an access token's. No positive ``typ`` is
    required, since many providers' access tokens carry none.

    The audience holds when ``aud`` names ``OIDC_CLIENT_ID`` or one of ``OIDC_AUDIENCES``, or when the
    token was issued to this client (``azp``): Keycloak's access tokens say ``aud: account`` and name
    the client in ``azp``.
    """
    claims = _decode(token, audience=None, require=["exp", "iss", "sub"])
    token_type = claims.get("typ")
    if isinstance(token_type, str) and token_type.lower() in NOT_ACCESS_TOKEN_TYPES:
        raise InvalidToken(f"A {token_type} token is not an access token.")
    if any(name in claims for name in ID_TOKEN_ONLY_CLAIMS):
        raise InvalidToken("An ID token is not an access token.")
    header_type = jwt.get_unverified_header(token).get("typ")
    if header_type is not None and (
        not isinstance(header_type, str) or header_type.lower() not in ACCESS_TOKEN_HEADER_TYPES
    ):
        raise InvalidToken(f"A token of type {header_type!r} is not an access token.")
    audiences = claims.get("aud", [])
    if isinstance(audiences, str):
        audiences = [audiences]
    if not isinstance(audiences, list):
        audiences = []
    accepted = {settings.OIDC_CLIENT_ID, *settings.OIDC_AUDIENCES} - {""}
    if not any(isinstance(aud, str) and aud in accepted for aud in audiences) and not (
        settings.OIDC_CLIENT_ID and claims.get("azp") == settings.OIDC_CLIENT_ID
    ):
        raise InvalidToken("The token is meant for another audience.")
    return claims
