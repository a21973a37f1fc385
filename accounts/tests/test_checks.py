"""The sign-in configuration checks: reported by `check` and `runserver`, not before every command."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def as_manage_py_check(monkeypatch):
    """As ``manage.py check`` runs: the check reads the command from the process's arguments."""
    monkeypatch.setattr(sys, "argv", ["manage.py", "check"])


def test_check_warns_when_sign_in_is_not_configured(settings, capsys):
    settings.OIDC_ISSUER = ""

    call_command("check")

    assert "OIDC_ISSUER is not set: sign-in is disabled" in capsys.readouterr().err


def test_check_warns_when_the_client_is_missing(settings, capsys):
    settings.OIDC_ISSUER = "http://127.0.0.1:9400"
    settings.OIDC_CLIENT_ID = ""

    call_command("check")

    assert "OIDC_CLIENT_ID or OIDC_CLIENT_SECRET is empty" in capsys.readouterr().err


def test_check_is_quiet_when_sign_in_is_configured(settings, capsys):
    settings.OIDC_ISSUER = "http://127.0.0.1:9400"
    settings.OIDC_CLIENT_ID = "aether"
    settings.OIDC_CLIENT_SECRET = "secret"

    call_command("check")

    assert "accounts.W00" not in capsys.readouterr().err


def manage_py(*args: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": "sqlite:///:memory:",
        "OIDC_ISSUER": "",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_other_commands_say_nothing_about_sign_in():
    checked = manage_py("check")
    other = manage_py("showmigrations", "onboarding")

    assert "OIDC_ISSUER is not set" in checked.stderr
    assert other.returncode == 0, other.stderr
    assert "OIDC_ISSUER" not in other.stderr + other.stdout
