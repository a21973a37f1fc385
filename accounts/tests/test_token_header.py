"""Reading a token's JOSE header before it is verified (to pick the key and tell JWTs from opaque tokens)."""

import base64
import json

import jwt
import pytest

from accounts.oidc import looks_like_jwt, unverified_header


def encoded(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_the_header_of_a_signed_token_is_read_as_pyjwt_reads_it(keycloak_issuer):
    token = keycloak_issuer.access_token("header-reader")

    assert unverified_header(token) == jwt.get_unverified_header(token)
    assert looks_like_jwt(token)


@pytest.mark.parametrize(
    "token",
    [
        "opaque-access-token",
        "a.b.c",
        "a.b",
        f"{encoded([1, 2])}.e30.c2ln",  # JSON, but not an object
        f"{encoded({'alg': 'RS256'})}+.e30.c2ln",  # a character base64url does not have
        f"{encoded({'alg': 'RS256'})}.e30.c2ln.more",
    ],
)
def test_anything_but_a_compact_jws_has_no_header(token):
    assert unverified_header(token) is None
    assert not looks_like_jwt(token)
