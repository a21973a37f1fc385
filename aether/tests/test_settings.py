"""Settings come from the environment and fail loudly, naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aether.env import env_bool, env_int, env_list, env_pairs

ROOT = Path(__file__).resolve().parents[2]


def test_readers_parse_and_refuse(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "12")
    monkeypatch.setenv("X_LIST", " a, b ,,c ")
    assert env_bool("X_BOOL") is True
    assert env_int("X_INT", 1) == 12
    assert env_list("X_LIST") == ["a", "b", "c"]

    monkeypatch.setenv("X_PAIRS", " a=Group A ,, b = Group B,a=Group A, a=Other ")
    assert env_pairs("X_PAIRS") == [("a", "Group A"), ("b", "Group B"), ("a", "Other")]
    monkeypatch.setenv("X_PAIRS", "a=b=c")
    assert env_pairs("X_PAIRS") == [("a", "b=c")]

    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env_bool("X_BOOL")
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "0")
    with pytest.raises(ImproperlyConfigured, match="X_INT must be at least 1"):
        env_int("X_INT", 1, minimum=1)


def start_django(_code: str = "import django; django.setup()", **env: str) -> subprocess.CompletedProcess:
    """Run ``_code`` (by default, only Django's start-up) in a fresh process with ``env``."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "OIDC_", "ONBOARDING_", "DATABASE_"))
    }
    return subprocess.run(
        [sys.executable, "-c", _code],
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
        (
            {"DJANGO_DEBUG": "true", "OIDC_ROLE_GROUPS": "aether-support=Support, aether-audit"},
            "OIDC_ROLE_GROUPS must be a comma list of role=Group name pairs; 'aether-audit' is not one.",
        ),
        ({"DJANGO_DEBUG": "true", "OIDC_ROLE_GROUPS": "=Support"}, "'=Support' is not one."),
        ({"DJANGO_DEBUG": "true", "OIDC_ROLE_GROUPS": "support= "}, "'support=' is not one."),
        (
            {"DJANGO_DEBUG": "true", "OIDC_ROLE_GROUPS": "support=" + "g" * 151},
            "OIDC_ROLE_GROUPS: the group name for 'support' is longer than 150 characters.",
        ),
        ({"DJANGO_DEBUG": "true", "METRICS_TOKEN": "secret"}, "METRICS_TOKEN must be at least 16 characters"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(env, message):
    result = start_django(**env)

    assert result.returncode != 0
    assert message in result.stderr


def test_defaults_start_in_debug():
    assert start_django(DJANGO_DEBUG="true").returncode == 0


def cookie_and_hsts_settings(**env: str) -> tuple[bool, bool, int]:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)"
    )
    result = start_django(code, **env)
    assert result.returncode == 0, result.stderr
    session, csrf, hsts = result.stdout.split()
    return session == "True", csrf == "True", int(hsts)


def test_cookies_are_secure_unless_debugging_or_told_otherwise():
    assert cookie_and_hsts_settings(DJANGO_SECRET_KEY="k") == (True, True, 0)
    assert cookie_and_hsts_settings(DJANGO_DEBUG="true") == (False, False, 0)
    assert cookie_and_hsts_settings(DJANGO_SECRET_KEY="k", DJANGO_SECURE_COOKIES="false") == (False, False, 0)
    assert cookie_and_hsts_settings(DJANGO_DEBUG="true", DJANGO_SECURE_COOKIES="true")[:2] == (True, True)
    assert cookie_and_hsts_settings(DJANGO_SECRET_KEY="k", DJANGO_HSTS_SECONDS="31536000")[2] == 31536000


def test_an_empty_multiprocess_directory_means_single_process_metrics():
    # Left empty (as .env.example lists it), the Prometheus client would write its files into the working
    # directory; Aether reads empty as unset, like every other variable.
    code = (
        "import django; django.setup(); from aether import metrics; "
        "from aether.metrics.middleware import REQUEST_DURATION; "
        "REQUEST_DURATION.labels('healthz', 'GET', '200').observe(0.01); "
        "print(metrics.multiprocess_dir())"
    )
    result = start_django(code, DJANGO_DEBUG="true", PROMETHEUS_MULTIPROC_DIR="", PYTHONPATH=str(ROOT))

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None"
    assert not list(ROOT.glob("histogram_*.db"))


def test_server_side_cursors_are_turned_off_for_a_pooler_in_transaction_mode():
    code = (
        "import django; django.setup(); from django.db import connection; "
        "print(connection.settings_dict['DISABLE_SERVER_SIDE_CURSORS'])"
    )
    url = "postgres://postgres@127.0.0.1:6432/aether"

    assert start_django(code, DJANGO_DEBUG="true", DATABASE_URL=url).stdout.strip() == "False"
    pooled = start_django(
        code, DJANGO_DEBUG="true", DATABASE_URL=url, DATABASE_DISABLE_SERVER_SIDE_CURSORS="true"
    )
    assert pooled.stdout.strip() == "True", pooled.stderr
    refused = start_django(code, DJANGO_DEBUG="true", DATABASE_DISABLE_SERVER_SIDE_CURSORS="sometimes")
    assert "DATABASE_DISABLE_SERVER_SIDE_CURSORS must be 'true' or 'false'" in refused.stderr
