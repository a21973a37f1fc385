"""Aether under real gunicorn on loopback, for tests about processes: outages, signals, limits.

``start_gunicorn(database_port=..., workers=1, **environment)`` starts ``gunicorn aether.wsgi`` with
the project's ``gunicorn.conf.py`` and nothing on the command line (``GUNICORN_*`` variables, as the
image does), against this test's database (through ``database_port`` when given: a
``tests.tcp_forwarder`` in between), with the test settings and the test issuer. Every server is
stopped after the test; its output (access lines and the app's JSON lines) is in ``server.log_text()``.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from tests.signin import TEST_CLIENT_ID, TEST_CLIENT_SECRET

START_TIMEOUT_SECONDS = 60


@dataclass
class GunicornServer:
    url: str
    process: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def json_lines(self) -> list[dict]:
        """The app's own log lines (JSON), in order; gunicorn's access and status lines are left out."""
        return [json.loads(line) for line in self.log_text().splitlines() if line.startswith("{")]

    def worker_pids(self) -> list[int]:
        """The pids of gunicorn's worker processes (the arbiter's children)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return [int(pid) for pid in children.split()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        assert process.poll() is None, f"gunicorn exited with {process.returncode}:\n{log.read_text()}"
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or its worker still loads the app (a busy machine)
        assert time.monotonic() < deadline, f"gunicorn did not answer:\n{log.read_text()}"
        time.sleep(0.1)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def launch(
    log_dir: Path, *, database_port: int | None = None, workers: int = 1, **environment: str
) -> GunicornServer:
    """Start gunicorn and wait until it answers; the caller stops it (``stop(server.process)``)."""
    bind = f"127.0.0.1:{free_port()}"
    database = connection.settings_dict
    host, port = database["HOST"] or "127.0.0.1", database["PORT"] or 5432
    if database_port is not None:
        host, port = "127.0.0.1", database_port
    env = {
        **{
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("DJANGO_", "OIDC_", "GUNICORN_"))
        },
        "DJANGO_SETTINGS_MODULE": "aether.test_settings",
        "DATABASE_URL": f"postgres://{database['USER']}@{host}:{port}/{database['NAME']}",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "OIDC_ISSUER": settings.OIDC_ISSUER,
        "OIDC_CLIENT_ID": TEST_CLIENT_ID,
        "OIDC_CLIENT_SECRET": TEST_CLIENT_SECRET,
        "LOG_LEVEL": "INFO",
        # As the image starts it: every setting from gunicorn.conf.py, through its variables.
        "GUNICORN_BIND": bind,
        "GUNICORN_WORKERS": str(workers),
        **environment,
    }
    if "PROMETHEUS_MULTIPROC_DIR" not in environment:
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = log_dir / f"gunicorn-{bind.rsplit(':', 1)[1]}.log"
    command = [
        *(sys.executable, "-m", "gunicorn", "aether.wsgi:application", "--config", "gunicorn.conf.py"),
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://{bind}"
    try:
        wait_until_up(url, process, log)
    except BaseException:
        stop(process)
        raise
    return GunicornServer(url=url, process=process, log=log)


@pytest.fixture
def start_gunicorn(tmp_path: Path) -> Iterator[Callable[..., GunicornServer]]:
    """``start_gunicorn(**options)``: ``launch(**options)``, stopped after the test."""
    processes: list[subprocess.Popen] = []

    def start(**options) -> GunicornServer:
        server = launch(tmp_path, **options)
        processes.append(server.process)
        return server

    yield start
    for process in processes:
        stop(process)
