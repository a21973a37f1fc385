"""The task worker, `manage.py db_worker`, as the deployments run it, against this test's PostgreSQL database.

The task it runs is the tests' own (tests/worker_tasks.py); Aether's tasks live in their apps.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_tasks import TaskResultStatus

from tests.worker_tasks import report_process

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def wait_for(condition, *, seconds: float, describe) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, describe()
        time.sleep(0.1)


def test_the_worker_runs_an_enqueued_task_then_waits_for_more_and_stops_on_sigterm(tmp_path: Path) -> None:
    database = connection.settings_dict
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "OIDC_"))},
        "DJANGO_SETTINGS_MODULE": "aether.test_settings",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        # Closed after each task, so nothing holds the test database when it is dropped.
        "DATABASE_CONN_MAX_AGE": "0",
    }
    log = tmp_path / "worker.log"
    command = [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.2"]
    with log.open("wb") as output:
        worker = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: "Starting worker" in log.read_text(), seconds=60, describe=log.read_text)

        result = report_process.enqueue("hello")

        def finished() -> bool:
            result.refresh()
            return result.status in {TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED}

        wait_for(finished, seconds=30, describe=lambda: f"{result.status}\n{log.read_text()}")
        assert result.status == TaskResultStatus.SUCCESSFUL, log.read_text()
        assert result.return_value == {"greeting": "hello", "pid": worker.pid}
        assert worker.pid != os.getpid()
        wait_for(
            lambda: (
                f"Task id={result.id} path=tests.worker_tasks.report_process state=SUCCESSFUL"
                in log.read_text()
            ),
            seconds=10,
            describe=log.read_text,
        )

        # With nothing left in the queue it idles, polling, until it is stopped.
        time.sleep(1)
        assert worker.poll() is None, log.read_text()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0, log.read_text()
        assert "shutting down gracefully" in log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
