"""``manage.py check --deploy`` with the production values of ``.env.example`` reports nothing.

The check runs in a fresh process whose environment is exactly the variables ``.env.example`` lists,
with the values it gives, plus the four a deployment must fill in itself (the secret key and the
OpenID Connect client); nothing is inherited from the environment running the tests.
"""

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[2]
# Left empty in .env.example: every deployment has its own.
DEPLOYMENT_OWN = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "OIDC_ISSUER": "https://keycloak.example.com/realms/aether",
    "OIDC_CLIENT_ID": "aether",
    "OIDC_CLIENT_SECRET": secrets.token_urlsafe(32),
}


def production_environment(**overrides: str) -> dict[str, str]:
    example = {name: value or "" for name, value in dotenv_values(ROOT / ".env.example").items()}
    assert set(DEPLOYMENT_OWN) <= set(example)
    return {"PATH": "/usr/bin:/bin", **example, **DEPLOYMENT_OWN, **overrides}


def manage(*arguments: str, environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_with_the_production_values_of_env_example_reports_nothing():
    environment = production_environment()
    assert environment["DJANGO_DEBUG"] == "false"

    result = manage("check", "--deploy", "--fail-level", "DEBUG", environment=environment)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("variable", "warnings"),
    [
        ("DJANGO_SECURE_SSL_REDIRECT", ["security.W008"]),
        ("DJANGO_HSTS_INCLUDE_SUBDOMAINS", ["security.W005"]),
        ("DJANGO_HSTS_PRELOAD", ["security.W021"]),
        # The session cookie and the CSRF cookie.
        ("DJANGO_SECURE_COOKIES", ["security.W012", "security.W016"]),
    ],
)
def test_each_variable_turned_off_is_what_check_deploy_names(variable, warnings):
    result = manage("check", "--deploy", environment=production_environment(**{variable: "false"}))

    output = result.stderr + result.stdout
    assert re.findall(r"\((security\.W\d+)\)", output) == warnings


@pytest.mark.parametrize(
    "variable", ["DJANGO_SECURE_SSL_REDIRECT", "DJANGO_HSTS_INCLUDE_SUBDOMAINS", "DJANGO_HSTS_PRELOAD"]
)
def test_a_bad_value_stops_start_up_naming_the_variable(variable):
    result = manage("check", environment=production_environment(**{variable: "always"}))

    assert result.returncode == 1
    assert f"{variable} must be 'true' or 'false', not 'always'." in result.stderr


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https_but_the_probes_answer(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000

    page = client.get("/", headers={"host": "localhost"})
    probe = client.get("/healthz", headers={"host": "10.1.2.3"})
    secure = client.get("/", headers={"host": "localhost"}, secure=True)

    assert (page.status_code, page["Location"]) == (301, "https://localhost/")
    assert probe.status_code == 200
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in probe
