"""Set Django up against a scratch PostgreSQL database for a benchmark script.

The database named in DATABASE_URL (or the script's default) is created if missing and migrated. The
benchmarks delete and create data, so the name must start with ``aether_bench``: pointed at any other
database (a DATABASE_URL left over from development, say) they refuse to start.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH_PREFIX = "aether_bench"


def use_scratch_database(default_name: str) -> None:
    """Point Django at DATABASE_URL (default: ``default_name`` locally), then create and migrate it."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aether.test_settings")
    os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{default_name}")
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django
    import psycopg
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql" or not str(db["NAME"]).startswith(SCRATCH_PREFIX):
        sys.exit(
            f"Refusing to run: the benchmarks delete and create data, and DATABASE_URL names the database "
            f"{db['NAME']!r}. Point it at a PostgreSQL database whose name starts with {SCRATCH_PREFIX!r}."
        )
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')
    call_command("migrate", verbosity=0)
