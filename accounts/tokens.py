"""Verification of the provider's JSON Web Tokens: ID tokens (browser), access tokens (API) and
logout tokens (back-channel logout).

Every check is made here, locally, against the issuer's cached JWKS: the signature, an algorithm in
``oidc.ALLOWED_ALGORITHMS``, ``exp``/``nbf``, ``iss == OIDC_ISSUER`` and the audience. Any failure
raises ``InvalidToken`` with a message fit for a 401 or 400 body or a log line.

An API client sends the same access token with every call until it expires, so each process keeps the
access tokens it verified (``VerifiedAccessTokens``) and checks a token's signature only once. What
that skips is the part of the check that cannot change while the token lives: its signature and
algorithm, ``iss`` and ``nbf``. Its ``exp`` is checked at every use, and so is the key: an entry is
used only while the key that verified it is in the key set this process trusts now. A key the
provider withdrew stops opening the API in a process as soon as that process fetches the new key
set, exactly as without the cache (a process fetches it when a token names a key it does not know).
What is checked after the signature (the token's kind and audience, here; the user being active, in
the authentication) runs at every call. A refused token is never kept.
"""

import datetime
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
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


# How many verified access tokens a process keeps (the least recently used go first): a few megabytes
# at most, and more than the clients one process serves within a token's lifetime, as a rule.
VERIFIED_ACCESS_TOKENS = 4096

# The event that makes a JWT a logout token (Back-Channel Logout 1.0, 2.4).
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"

# How long after its `iat` a logout token is accepted (plus LEEWAY_SECONDS of clock skew). Providers
# send them at once (Keycloak's expire after two minutes); an old one can only be a replay.
LOGOUT_TOKEN_MAX_AGE_SECONDS = 300

# JOSE header `typ` values a logout token may carry (2.4 recommends "logout+jwt"); absent is
# accepted. Anything else is some other kind of token (4.1, cross-JWT confusion).
LOGOUT_TOKEN_HEADER_TYPES = {"logout+jwt", "application/logout+jwt"}

# The longest `jti`, `sub` or `sid` a logout token may carry: what the records can hold.
LOGOUT_CLAIM_MAX_LENGTH = 255


class InvalidToken(Exception):
    """The token was refused; the message says why."""


@dataclass(frozen=True)
class LogoutToken:
    """A verified logout token: the sessions it names and how long its ``jti`` must be remembered."""

    jti: str
    sub: str | None
    sid: str | None
    #: The last moment this token could be accepted (its age refuses it after that).
    acceptable_until: datetime.datetime


def _signing_key(token: str, *, refresh: bool = False) -> jwt.PyJWK:
    try:
        return oidc.signing_key_for(token, refresh=refresh)
    except oidc.UnknownSigningKey as exc:
        raise InvalidToken(str(exc)) from exc


def _decode(
    token: str, *, audience: str | None, require: list[str], subject_required: bool = True
) -> tuple[dict[str, Any], jwt.PyJWK]:
    """The token's verified claims and the provider key that verified them."""
    key = _signing_key(token)
    try:
        claims = _verified_claims(
            token, key, audience=audience, require=require, subject_required=subject_required
        )
    except InvalidToken as exc:
        # A token without `kid` was checked against the one key the cache holds; the provider may
        # have replaced it since (the development provider makes a new key at every restart).
        # Fetch the key set again (rate-limited) and retry once if that brought another key.
        bad_signature = isinstance(exc.__cause__, jwt.InvalidSignatureError)
        if not bad_signature or "kid" in (oidc.unverified_header(token) or {}):
            raise
        fresh = _signing_key(token, refresh=True)
        if fresh is key:
            raise
        claims = _verified_claims(
            token, fresh, audience=audience, require=require, subject_required=subject_required
        )
        return claims, fresh
    return claims, key


def _verified_claims(
    token: str, key: jwt.PyJWK, *, audience: str | None, require: list[str], subject_required: bool
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
    if subject_required and (not isinstance(sub, str) or not sub):
        raise InvalidToken("The token has no subject.")
    return claims


def _header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"The token is malformed: {exc}") from exc


def verify_id_token(token: str, *, nonce: str | None) -> dict[str, Any]:
    """Verify an ID token from the authorization-code exchange and return its claims.

    Beyond what mozilla-django-oidc checks, the audience and the issuer are verified, and an expired
    token is a clean failure rather than an exception from PyJWT.
    """
    claims, _ = _decode(token, audience=settings.OIDC_CLIENT_ID, require=["exp", "iat", "iss", "sub", "aud"])
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

    The signature of a token this process verified before is not checked again (see the module's
    docstring); everything else is.
    """
    claims = verified_access_tokens.claims(token)
    if claims is None:
        claims, key = _decode(token, audience=None, require=["exp", "iss", "sub"])
        verified_access_tokens.keep(token, claims, key)
    token_type = claims.get("typ")
    if isinstance(token_type, str) and token_type.lower() in NOT_ACCESS_TOKEN_TYPES:
        raise InvalidToken(f"A {token_type} token is not an access token.")
    if any(name in claims for name in ID_TOKEN_ONLY_CLAIMS):
        raise InvalidToken("An ID token is not an access token.")
    header_type = (oidc.unverified_header(token) or {}).get("typ")
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


class VerifiedAccessTokens:
    """The access tokens this process verified: their claims and the key that verified them.

    A bounded map, least recently used first out, safe to share between a process's threads.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        # token -> (claims, the key that verified them, the moment the token expires)
        self._entries: OrderedDict[str, tuple[dict[str, Any], jwt.PyJWK, float]] = OrderedDict()

    def keep(self, token: str, claims: dict[str, Any], key: jwt.PyJWK) -> None:
        """Remember ``token``, just verified by ``key`` with these ``claims``."""
        # PyJWT accepts a token until `exp` (an integer, or text that reads as one) plus the leeway.
        expires = int(claims["exp"]) + LEEWAY_SECONDS
        with self._lock:
            self._entries[token] = (dict(claims), key, expires)
            self._entries.move_to_end(token)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def claims(self, token: str) -> dict[str, Any] | None:
        """A copy of ``token``'s claims if it was verified here, is unexpired and its key still trusted.

        ``None`` when it has to be verified (again): an entry past its ``exp`` or whose key left the
        key set is dropped, and the full check then refuses the token with the reason.
        """
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None:
                self._entries.move_to_end(token)
        if entry is None:
            return None
        claims, key, expires = entry
        if time.time() >= expires or not _trusted(key):
            with self._lock:
                self._entries.pop(token, None)
            return None
        return dict(claims)


def _trusted(key: jwt.PyJWK) -> bool:
    """Whether ``key`` is in the key set this process holds for ``OIDC_ISSUER`` now.

    A fetch of the key set makes new key objects, so after one every kept token is verified once more.
    """
    return any(trusted is key for trusted in oidc.signing_keys())


verified_access_tokens = VerifiedAccessTokens(VERIFIED_ACCESS_TOKENS)


def _optional_text_claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > LOGOUT_CLAIM_MAX_LENGTH:
        raise InvalidToken(
            f"The token's {name} must be a string of 1 to {LOGOUT_CLAIM_MAX_LENGTH} characters."
        )
    return value


def verify_logout_token(token: str) -> LogoutToken:
    """Verify a back-channel logout token (OpenID Connect Back-Channel Logout 1.0, 2.6).

    Verified like an ID token (signature by the provider's JWKS with an allowed algorithm, ``iss``,
    ``aud`` naming ``OIDC_CLIENT_ID``, ``exp`` when present), and then: ``iat`` at most
    ``LOGOUT_TOKEN_MAX_AGE_SECONDS`` old and not in the future, a JOSE ``typ`` of ``logout+jwt``
    when there is one, the back-channel logout event in ``events``, a ``sub``, a ``sid`` or both,
    no ``nonce`` (which keeps a logout token from passing as an ID token), and a ``jti``. Whether
    the ``jti`` was seen before is the caller's to check (``accounts.sessions.provider_logout``).
    """
    if not settings.OIDC_CLIENT_ID:
        raise InvalidToken("OIDC_CLIENT_ID is not set: no logout token can be meant for this client.")
    header_type = _header(token).get("typ")
    if header_type is not None and (
        not isinstance(header_type, str) or header_type.lower() not in LOGOUT_TOKEN_HEADER_TYPES
    ):
        raise InvalidToken(f"A token of type {header_type!r} is not a logout token.")
    claims, _ = _decode(
        token,
        audience=settings.OIDC_CLIENT_ID,
        require=["iat", "iss", "aud", "jti"],
        subject_required=False,
    )
    # PyJWT checked that `iat` is an integer and not in the future (beyond the leeway).
    issued_at = int(claims["iat"])
    age = time.time() - issued_at
    if age > LOGOUT_TOKEN_MAX_AGE_SECONDS + LEEWAY_SECONDS:
        raise InvalidToken(
            f"The logout token was issued {int(age)} s ago; at most {LOGOUT_TOKEN_MAX_AGE_SECONDS} s "
            "are accepted."
        )
    events = claims.get("events")
    if not isinstance(events, dict) or BACKCHANNEL_LOGOUT_EVENT not in events:
        raise InvalidToken(f"The token's events claim has no {BACKCHANNEL_LOGOUT_EVENT} member.")
    if not isinstance(events[BACKCHANNEL_LOGOUT_EVENT], dict):
        raise InvalidToken("The back-channel logout event must be a JSON object.")
    if "nonce" in claims:
        raise InvalidToken("A logout token must not carry a nonce.")
    sub = _optional_text_claim(claims, "sub")
    sid = _optional_text_claim(claims, "sid")
    if sub is None and sid is None:
        raise InvalidToken("A logout token must carry a sub, a sid or both.")
    jti = _optional_text_claim(claims, "jti")
    if jti is None:
        raise InvalidToken("A logout token must carry a jti.")
    acceptable_until = datetime.datetime.fromtimestamp(
        issued_at + LOGOUT_TOKEN_MAX_AGE_SECONDS + LEEWAY_SECONDS, tz=datetime.UTC
    )
    return LogoutToken(jti=jti, sub=sub, sid=sid, acceptable_until=acceptable_until)
