"""How the tests run a management command as an operator would: its own process, on the test's database."""

from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def operator_environment() -> dict[str, str]:
    """A shell's environment for ``manage.py``: development settings, no sign-in, the test's database.

    The test must commit what the command should see (``django_db(transaction=True)``).
    """
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(ROOT),
        "DJANGO_DEBUG": "true",
        "OIDC_ISSUER": "",
        "DATABASE_URL": "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict),
    }
