"""The scratch PostgreSQL database the benchmarks write to, and Django set up against it.

The benchmarks create and delete data, and ``make bench`` drops and creates its database, so the
database's name must start with ``aether_bench``: pointed at any other (a ``BENCH_DATABASE_URL`` copied
from ``DATABASE_URL``, say) they refuse to start. Django runs with production settings
(``DJANGO_DEBUG=false``), as a deployment would.
"""

import logging
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SCRATCH_PREFIX = "aether_bench"
DEFAULT_URL = f"postgres://postgres@127.0.0.1:5432/{SCRATCH_PREFIX}"


class NotScratch(SystemExit):
    """The database named is not a benchmark's scratch database."""


def scratch_url() -> str:
    """``BENCH_DATABASE_URL`` (default: the local ``aether_bench``), checked to name a scratch database."""
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.scheme not in {"postgres", "postgresql"} or not name.startswith(SCRATCH_PREFIX):
        raise NotScratch(
            f"Refusing to run: the benchmarks drop, create and fill their database, and "
            f"BENCH_DATABASE_URL names {name or url!r}. Name a PostgreSQL database whose name starts "
            f"with {SCRATCH_PREFIX!r}."
        )
    return url


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def sibling_url(url: str, suffix: str) -> str:
    """Another scratch database next to ``url``'s, for a benchmark that needs one of its own."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database_name(url)}_{suffix}"))


def recreate_database(url: str) -> None:
    """Drop the scratch database ``url`` names and create it empty."""
    name = database_name(url)
    if not name.startswith(SCRATCH_PREFIX):
        raise NotScratch(f"Refusing to drop {name!r}: not a scratch database.")
    parts = urlsplit(url)
    drop_database(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    """Drop the scratch database ``url`` names, when a benchmark that made it is done with it."""
    name = database_name(url)
    if not name.startswith(SCRATCH_PREFIX):
        raise NotScratch(f"Refusing to drop {name!r}: not a scratch database.")
    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(url: str) -> None:
    """Set Django up against ``url`` with production settings, and migrate the database."""
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "aether.settings"
    os.environ["DJANGO_DEBUG"] = "false"
    # Production settings want a secret key; nothing signed here outlives the run.
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-scratch-key-" + "x" * 32)

    import django
    from django.core.management import call_command

    django.setup()
    # Logging stays as configured (JSON lines from INFO up): a run's log line is part of what it
    # costs. The lines go to /dev/null, not between the figures.
    devnull = open(os.devnull, "w")  # noqa: SIM115 - open for the life of the process
    for name in ("", "django", "aether"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(devnull)
    call_command("migrate", verbosity=0)


def new_users(count: int) -> list:
    """``count`` users as sign-in leaves them, before their onboarding, made in one statement."""
    import uuid

    from django.contrib.auth.hashers import make_password

    from accounts.models import User

    tag = uuid.uuid4().hex[:8]
    password = make_password(None)
    return User.objects.bulk_create(
        User(
            username=f"bench-{tag}-{n}",
            email=f"bench-{tag}-{n}@example.com",
            sub=f"bench-{tag}-{n}",
            full_name=f"Bench User {n}",
            password=password,
        )
        for n in range(count)
    )
