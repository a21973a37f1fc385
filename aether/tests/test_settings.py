"""Settings come from the environment and fail loudly, naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aether.env import env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parents[2]


def test_readers_parse_and_refuse(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "12")
    monkeypatch.setenv("X_LIST", " a, b ,,c ")
    assert env_bool("X_BOOL") is True
    assert env_int("X_INT", 1) == 12
    assert env_list("X_LIST") == ["a", "b", "c"]

    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env_bool("X_BOOL")
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "0")
    with pytest.raises(ImproperlyConfigured, match="X_INT must be at least 1"):
        env_int("X_INT", 1, minimum=1)


def start_django(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "OIDC_", "ONBOARDING_"))}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "aether.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DJANGO_SECRET_KEY must be set unless DJANGO_DEBUG=true."),
        ({"DJANGO_DEBUG": "ja"}, "DJANGO_DEBUG must be 'true' or 'false'"),
        (
            {"DJANGO_DEBUG": "true", "ONBOARDING_TIMEOUT_SECONDS": "soon"},
            "ONBOARDING_TIMEOUT_SECONDS must be",
        ),
        ({"DJANGO_DEBUG": "true", "DOCUMENT_MAX_BYTES": "0"}, "DOCUMENT_MAX_BYTES must be at least 1"),
        ({"DJANGO_DEBUG": "true", "OIDC_ISSUER": "keycloak"}, "OIDC_ISSUER must be an http(s) URL"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(env, message):
    result = start_django(**env)

    assert result.returncode != 0
    assert message in result.stderr


def test_defaults_start_in_debug():
    assert start_django(DJANGO_DEBUG="true").returncode == 0
