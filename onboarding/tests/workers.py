"""Real task workers (``manage.py db_worker``) on the test database, for tests that need one."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

# How long a roll-out's worker may stay silent before another picks it up, in the workers started here.
LEASE_SECONDS = 2


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--no-reload", "--interval", "0.1"],
        cwd=Path(settings.BASE_DIR),
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "DJANGO_SETTINGS_MODULE": "aether.test_settings",
            "ROLLOUT_LEASE_SECONDS": str(LEASE_SECONDS),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(worker: subprocess.Popen) -> None:
    worker.kill()
    worker.wait(timeout=10)
