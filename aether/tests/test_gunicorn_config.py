"""gunicorn.conf.py: gunicorn started with it alone, as the image starts it, follows GUNICORN_* variables.

A real gunicorn on a free loopback port, its workers counted among the master's child processes.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(**gunicorn: str) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "GUNICORN_", "PROMETHEUS_"))
    }
    return {
        **environment,
        "DJANGO_SETTINGS_MODULE": "aether.test_settings",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        **gunicorn,
    }


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (its gunicorn workers), from /proc."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def thread_count(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


@pytest.fixture
def gunicorn(tmp_path):
    """``gunicorn(**GUNICORN_variables)``: the master's Popen, its URL and its log once /healthz answers."""
    started: list[subprocess.Popen] = []

    def start(**variables: str) -> tuple[subprocess.Popen, str, Path]:
        port = free_port()
        log = tmp_path / f"gunicorn-{port}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "aether.wsgi:application"],
                cwd=settings.BASE_DIR,
                env=server_environment(GUNICORN_BIND=f"127.0.0.1:{port}", **variables),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                    return process, url, log
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)

    yield start
    for process in started:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_workers(pid: int, count: int) -> list[int]:
    deadline = time.monotonic() + 20
    while len(workers := children(pid)) != count and time.monotonic() < deadline:
        time.sleep(0.1)
    return workers


def test_gunicorn_serves_health_with_the_worker_count_and_threads_of_the_environment(gunicorn):
    process, url, log = gunicorn(GUNICORN_WORKERS="3", GUNICORN_THREADS="3", GUNICORN_WORKER_CLASS="gthread")

    workers = wait_for_workers(process.pid, 3)
    for _ in range(12):
        assert requests.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}

    assert len(workers) == 3, log.read_text()
    text = log.read_text()
    assert "Using worker: gthread" in text
    assert text.count("Booting worker with pid") == 3
    # The access line, with the request id, goes to standard output.
    assert '"GET /healthz HTTP/1.1" 200' in text and "request_id=" in text
    # A gthread worker runs its request threads next to its main thread once it has served requests.
    assert max(thread_count(worker) for worker in workers) > 1


def test_the_defaults_are_the_measured_two_gthread_workers(gunicorn):
    process, url, log = gunicorn(GUNICORN_ACCESS_LOG="false")

    workers = wait_for_workers(process.pid, 2)
    requests.get(f"{url}/healthz", timeout=5)

    assert len(workers) == 2
    text = log.read_text()
    assert "Using worker: gthread" in text
    assert "GET /healthz" not in text, "GUNICORN_ACCESS_LOG=false writes no access lines"


def test_sync_workers_serve_one_request_at_a_time(gunicorn):
    process, url, log = gunicorn(GUNICORN_WORKER_CLASS="sync", GUNICORN_WORKERS="1")

    workers = wait_for_workers(process.pid, 1)
    assert requests.get(f"{url}/healthz", timeout=5).status_code == 200

    assert len(workers) == 1
    assert "Using worker: sync" in log.read_text()
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
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "aether.wsgi:application"],
        cwd=settings.BASE_DIR,
        env=server_environment(GUNICORN_BIND=f"127.0.0.1:{free_port()}", **variables),
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode != 0
    assert message in result.stderr, result.stderr
