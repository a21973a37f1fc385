"""Talking to the development OpenID provider (``oidc-provider-mock``) from outside a browser.

Used by the tests and by ``python -m aether.devprovider``, which prints an access token for the API,
or gives an address roles (a staff role, say) for its next sign-in:

    .venv/bin/python -m aether.devprovider you@example.com
    .venv/bin/python -m aether.devprovider you@example.com --roles aether-staff
"""

import argparse
import os
import sys
import uuid
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import requests

DEFAULT_ISSUER = "http://127.0.0.1:9400"


class DevProviderError(Exception):
    """The development provider did not answer as expected."""


def set_provider_user(provider_url: str, sub: str, claims: dict[str, Any]) -> None:
    """Set the claims the provider gives ``sub`` (``PUT /users/<sub>``); non-standard claims pass through."""
    # Quoted: a sub may hold "?", "#" or spaces (an e-mail address with a "+" tag, say).
    response = requests.put(f"{provider_url}/users/{quote(sub, safe='')}", json=claims, timeout=10)
    if response.status_code != 204:
        raise DevProviderError(f"PUT /users/{sub} answered {response.status_code}: {response.text}")


def obtain_access_token(
    provider_url: str, sub: str, *, client_id: str, client_secret: str, redirect_uri: str
) -> str:
    """Run the authorization-code flow at the development provider as ``sub``; return the access token."""
    state = uuid.uuid4().hex
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid email profile",
            "state": state,
        }
    )
    login = requests.post(
        f"{provider_url}/oauth2/authorize?{query}", data={"sub": sub}, allow_redirects=False, timeout=10
    )
    if login.status_code != 302:
        raise DevProviderError(f"The login form answered {login.status_code}: {login.text}")
    params = parse_qs(urlsplit(login.headers["Location"]).query)
    if params.get("state") != [state] or "code" not in params:
        raise DevProviderError(f"Unexpected redirect after login: {login.headers['Location']}")
    exchange = requests.post(
        f"{provider_url}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"][0],
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": client_secret,
        },
        timeout=10,
    )
    if exchange.status_code != 200:
        raise DevProviderError(f"The token endpoint answered {exchange.status_code}: {exchange.text}")
    return exchange.json()["access_token"]


def grant_roles(provider_url: str, sub: str, roles: list[str]) -> None:
    """Give ``sub`` these realm roles at the provider (``realm_access.roles``), as Keycloak would.

    The provider's claims for ``sub`` are replaced: its e-mail stays ``sub``, as when it is typed on
    the provider's page. The roles count from the next sign-in.
    """
    set_provider_user(provider_url, sub, {"email": sub, "realm_access": {"roles": roles}})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m aether.devprovider",
        description=(
            "Talk to the development provider that `make run` starts. Prints an access token of SUB "
            "for the API; with --roles, gives SUB those roles instead."
        ),
    )
    parser.add_argument("sub", help="who to sign in as, e.g. an e-mail address")
    parser.add_argument(
        "--roles",
        metavar="ROLE[,ROLE]",
        help="give SUB these realm roles (e.g. aether-staff) from their next sign-in on; '' takes them away",
    )
    default_issuer = f"http://127.0.0.1:{os.environ.get('DEV_OIDC_PROVIDER_PORT') or '9400'}"
    parser.add_argument("--issuer", default=os.environ.get("OIDC_ISSUER") or default_issuer)
    args = parser.parse_args(argv)
    sub = args.sub.strip()
    if not sub or not sub.isprintable():
        parser.error("SUB must be a visible name, such as an e-mail address.")
    try:
        if args.roles is not None:
            roles = [role.strip() for role in args.roles.split(",") if role.strip()]
            grant_roles(args.issuer, sub, roles)
            held = ", ".join(roles) or "no roles"
            print(
                f"{sub} now holds {held} at the development provider ({args.issuer}); sign in as {sub} again."
            )
            return
        token = obtain_access_token(
            args.issuer,
            sub,
            client_id=os.environ.get("OIDC_CLIENT_ID") or "aether-dev",
            client_secret=os.environ.get("OIDC_CLIENT_SECRET") or "aether-dev-secret",
            redirect_uri="http://127.0.0.1:8000/oidc/callback/",
        )
    except requests.ConnectionError:
        sys.exit(f"The development provider does not answer at {args.issuer}: is `make run` running?")
    except DevProviderError as exc:
        sys.exit(f"The development provider at {args.issuer} refused: {exc}")
    print(token)


if __name__ == "__main__":
    main()
