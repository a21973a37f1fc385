"""gunicorn.conf.py: gunicorn started with it alone, as the image starts it, follows GUNICORN_* variables.

A real gunicorn on a free loopback port (``tests/gunicorn.py``), its workers counted among the
master's child processes.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.gunicorn import GunicornServer, free_port


def thread_count(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


def wait_for_workers(server: GunicornServer, count: int) -> list[int]:
    deadline = time.monotonic() + 20
    while len(workers := server.worker_pids()) != count and time.monotonic() < deadline:
        time.sleep(0.1)
    return workers


def test_gunicorn_serves_health_with_the_worker_count_and_threads_of_the_environment(start_gunicorn):
    server = start_gunicorn(workers=3, GUNICORN_THREADS="3", GUNICORN_WORKER_CLASS="gthread")

    workers = wait_for_workers(server, 3)
    for _ in range(12):
        assert requests.get(f"{server.url}/healthz", timeout=5).json() == {"status": "ok"}

    assert len(workers) == 3, server.log_text()
    log = server.log_text()
    assert "Using worker: gthread" in log
    assert log.count("Booting worker with pid") == 3
    address = server.url.removeprefix("http://")
    assert f"Serving {address} with 3 gthread workers x 3 threads (timeout 30s" in log
    # The access line, with the request id, goes to standard output.
    assert '"GET /healthz HTTP/1.1" 200' in log and "request_id=" in log
    # A gthread worker runs its request threads next to its main thread once it has served requests.
    assert max(thread_count(worker) for worker in workers) > 1


def test_the_defaults_are_the_measured_two_gthread_workers(start_gunicorn):
    # Besides the address, only GUNICORN_WORKERS, at its default: the rest is gunicorn.conf.py's own.
    server = start_gunicorn(workers=2, GUNICORN_ACCESS_LOG="false")

    workers = wait_for_workers(server, 2)
    requests.get(f"{server.url}/healthz", timeout=5)

    assert len(workers) == 2
    log = server.log_text()
    assert "with 2 gthread workers x 4 threads (timeout 30s, graceful timeout" in log
    assert "GET /healthz" not in log, "GUNICORN_ACCESS_LOG=false writes no access lines"


def test_sync_workers_serve_one_request_at_a_time(start_gunicorn):
    server = start_gunicorn(workers=1, GUNICORN_WORKER_CLASS="sync")

    workers = wait_for_workers(server, 1)
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200

    assert len(workers) == 1
    assert "with 1 sync workers x 1 threads" in server.log_text()
    assert thread_count(workers[0]) == 1


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"GUNICORN_WORKERS": "two"}, "GUNICORN_WORKERS must be an integer, not 'two'."),
        ({"GUNICORN_WORKERS": "0"}, "GUNICORN_WORKERS must be at least 1, not 0."),
        (
            {"GUNICORN_WORKER_CLASS": "gevent"},
            "GUNICORN_WORKER_CLASS must be one of sync, gthread, not 'gevent'.",
        ),
        (
            {"GUNICORN_WORKER_CLASS": "sync", "GUNICORN_THREADS": "4"},
            "GUNICORN_THREADS=4 needs GUNICORN_WORKER_CLASS=gthread",
        ),
        ({"GUNICORN_TIMEOUT": "-1"}, "GUNICORN_TIMEOUT must be at least 1, not -1."),
        ({"GUNICORN_ACCESS_LOG": "maybe"}, "GUNICORN_ACCESS_LOG must be 'true' or 'false', not 'maybe'."),
    ],
)
def test_a_bad_value_stops_gunicorn_with_the_variable_name(variables, message):
    inherited = {
        name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "GUNICORN_"))
    }
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "aether.wsgi:application"],
        cwd=settings.BASE_DIR,
        env={
            **inherited,
            "DJANGO_SETTINGS_MODULE": "aether.test_settings",
            "GUNICORN_BIND": f"127.0.0.1:{free_port()}",
            **variables,
        },
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode != 0
    assert message in result.stderr, result.stderr
