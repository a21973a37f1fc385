"""The OpenID provider as Aether sees it: its endpoints and its signing keys.

``OIDC_ISSUER`` alone configures sign-in, compared exactly with the discovery document's and every
token's issuer. The endpoints come from ``{OIDC_ISSUER}/.well-known/openid-configuration``, fetched
on first use (never at import, so the app starts while the provider is down) and cached for the
life of the process; an explicit
``OIDC_OP_*_ENDPOINT`` setting overrides the discovered value. The JWKS is cached too and fetched
again when a token names a key the cache does not hold (the provider rotated its keys), at most
once per ``JWKS_REFRESH_INTERVAL_SECONDS`` per issuer, so tokens with made-up key ids cannot make
Aether hammer the provider.
"""

import base64
import json
import logging
import threading
import time
from typing import Any

import jwt
import requests
from django.conf import settings

logger = logging.getLogger("aether.oidc")

# Asymmetric algorithms only: "none" and the HS* family (which would let anyone holding the public
# key forge a token) are refused whatever a token's header says.
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")

# The shortest time between two forced JWKS fetches for one issuer (a rotation is rare; forged
# key ids are cheap).
JWKS_REFRESH_INTERVAL_SECONDS = 60.0

# Discovery field -> the setting that overrides it.
ENDPOINT_OVERRIDES = {
    "authorization_endpoint": "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "token_endpoint": "OIDC_OP_TOKEN_ENDPOINT",
    "userinfo_endpoint": "OIDC_OP_USER_ENDPOINT",
    "jwks_uri": "OIDC_OP_JWKS_ENDPOINT",
    "end_session_endpoint": "OIDC_OP_LOGOUT_ENDPOINT",
}


class OIDCNotConfigured(Exception):
    """``OIDC_ISSUER`` is not set: sign-in is disabled."""


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered something unusable."""


class IssuerMismatch(ProviderUnavailable):
    """The discovery document names another issuer than ``OIDC_ISSUER`` (a misconfiguration)."""


class UnknownSigningKey(Exception):
    """No key of the provider's JWKS can verify the token."""


_lock = threading.Lock()
_discovery: dict[str, dict[str, Any]] = {}
_jwks: dict[str, list[jwt.PyJWK]] = {}
_jwks_refreshed_at: dict[str, float] = {}


def clear_cache() -> None:
    """Forget the discovery documents and key sets (tests, and a provider that moved)."""
    with _lock:
        _discovery.clear()
        _jwks.clear()
        _jwks_refreshed_at.clear()


def is_configured() -> bool:
    return bool(settings.OIDC_ISSUER)


def issuer() -> str:
    if not settings.OIDC_ISSUER:
        raise OIDCNotConfigured("OIDC_ISSUER is not set.")
    return settings.OIDC_ISSUER


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        body = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"{url}: {exc}") from exc
    if not isinstance(body, dict):
        raise ProviderUnavailable(f"{url} did not answer a JSON object.")
    return body


def discovery() -> dict[str, Any]:
    """The issuer's discovery document, fetched once per process (a failure is not cached).

    Its ``issuer`` must be ``OIDC_ISSUER`` exactly, trailing slash included (OpenID Connect
    Discovery 4.3): every token's ``iss`` is compared with that same string.
    """
    url = issuer()
    with _lock:
        cached = _discovery.get(url)
    if cached is not None:
        return cached
    # Only the well-known URL drops a trailing slash (Discovery 4.1); the issuer keeps it.
    document = _get_json(f"{url.rstrip('/')}/.well-known/openid-configuration")
    if document.get("issuer") != url:
        raise IssuerMismatch(
            f"The provider's discovery document names the issuer {document.get('issuer')!r}, "
            f"but OIDC_ISSUER is {url!r}: they must be the same string."
        )
    with _lock:
        _discovery[url] = document
    return document


def endpoint(name: str) -> str:
    """The URL of one endpoint (``token_endpoint``, ``jwks_uri``…): the override, else discovery."""
    override = getattr(settings, ENDPOINT_OVERRIDES[name], "")
    if override:
        return override
    url = discovery().get(name)
    if not url or not isinstance(url, str):
        raise ProviderUnavailable(f"The provider's discovery document has no {name}.")
    return url


def optional_endpoint(name: str) -> str | None:
    """Like ``endpoint``, but ``None`` when the provider does not offer it."""
    try:
        return endpoint(name)
    except ProviderUnavailable:
        return None


def _fetch_keys() -> list[jwt.PyJWK]:
    body = _get_json(endpoint("jwks_uri"))
    entries = body.get("keys")
    if not isinstance(entries, list):
        logger.warning("the provider's JWKS has no list of keys")
        return []
    keys = []
    for data in entries:
        if not isinstance(data, dict):
            # Not a JWK at all: no more usable than a key of an unknown type.
            continue
        try:
            key = jwt.PyJWK(data)
        except (jwt.PyJWTError, ValueError, TypeError):
            # A key of a type PyJWT cannot use (or an encryption key) is simply not a candidate.
            continue
        if data.get("use", "sig") == "sig" and key.algorithm_name in ALLOWED_ALGORITHMS:
            keys.append(key)
    return keys


def signing_keys(*, refresh: bool = False) -> list[jwt.PyJWK]:
    """The provider's usable signing keys, from the cache unless ``refresh``.

    A forced refresh within ``JWKS_REFRESH_INTERVAL_SECONDS`` of the previous one answers the cache.
    """
    url = issuer()
    with _lock:
        cached = _jwks.get(url)
        if cached is not None and refresh:
            now = time.monotonic()
            last = _jwks_refreshed_at.get(url)
            if last is not None and now - last < JWKS_REFRESH_INTERVAL_SECONDS:
                return cached
            # Claimed before the fetch, so concurrent requests do not all refetch.
            _jwks_refreshed_at[url] = now
        elif cached is not None:
            return cached
    keys = _fetch_keys()
    with _lock:
        _jwks[url] = keys
    return keys


def _candidate(keys: list[jwt.PyJWK], kid: str | None, alg: str) -> jwt.PyJWK | None:
    if kid is None:
        # The development provider signs without a `kid` header; Keycloak always sends one. A
        # token without `kid` is accepted only when the key set leaves no choice: exactly one
        # usable key for the token's algorithm. With several keys, guessing would be unsafe.
        usable = [key for key in keys if key.algorithm_name == alg]
        return usable[0] if len(usable) == 1 else None
    for key in keys:
        if key.key_id == kid and key.algorithm_name == alg:
            return key
    return None


def signing_key_for(token: str, *, refresh: bool = False) -> jwt.PyJWK:
    """The provider key that signed ``token`` (header only is read here, nothing is verified yet).

    An unknown ``kid`` makes one fresh fetch of the JWKS, so a key rotation at the provider is
    picked up without a restart; ``refresh`` asks for that fetch up front (a token without ``kid``
    whose signature the cached key refused). Either is rate-limited by ``signing_keys``.
    """
    header = unverified_header(token)
    if header is None:
        raise UnknownSigningKey("Malformed token header.")
    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:
        raise UnknownSigningKey(f"Algorithm {alg!r} is not accepted.")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise UnknownSigningKey("The token's kid is not a string.")
    key = _candidate(signing_keys(refresh=refresh), kid, alg)
    if key is None and kid is not None and not refresh:
        key = _candidate(signing_keys(refresh=True), kid, alg)
    if key is None:
        raise UnknownSigningKey(
            f"No key of the provider matches kid {kid!r}."
            if kid
            else "The token has no kid and the provider has more than one key."
        )
    return key


def fetch_userinfo(access_token: str) -> dict[str, Any] | None:
    """The claims the provider's userinfo endpoint gives for ``access_token``, or ``None`` if refused."""
    url = endpoint("userinfo_endpoint")
    try:
        response = requests.get(
            url, headers={"Authorization": f"Bearer {access_token}"}, timeout=settings.OIDC_TIMEOUT
        )
    except requests.RequestException as exc:
        raise ProviderUnavailable(f"{url}: {exc}") from exc
    if response.status_code in {400, 401, 403}:
        return None
    if response.status_code != 200:
        raise ProviderUnavailable(f"{url} answered {response.status_code}.")
    try:
        claims = response.json()
    except ValueError as exc:
        raise ProviderUnavailable(f"{url} did not answer JSON.") from exc
    return claims if isinstance(claims, dict) else None


def unverified_header(token: str) -> dict[str, Any] | None:
    """The JOSE header of a compact JWS, read but not verified; ``None`` when ``token`` is not one.

    Only the header is decoded: PyJWT's ``get_unverified_header`` decodes and checks every part of the
    token, several times the cost, and verifying (``jwt.decode``) does that once anyway.
    """
    if token.count(".") != 2:
        return None
    encoded = token.partition(".")[0]
    try:
        header = json.loads(
            base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_", validate=True)
        )
    except ValueError:  # binascii.Error, json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    return header if isinstance(header, dict) else None


def looks_like_jwt(token: str) -> bool:
    """Whether ``token`` has a JWS header (three dot-separated parts, the first a JSON object)."""
    return unverified_header(token) is not None
