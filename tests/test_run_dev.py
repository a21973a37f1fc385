"""``scripts/run-dev`` (``make run``): the task worker it starts beside the app, and what it does when the
development provider never becomes ready."""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent

# Stands in for the virtualenv's python, so that the script's own logic runs without a real
# provider or server: the port is free, the provider process starts but never answers, and the app
# would start (and say so) if the script let it.
FAKE_PYTHON = """#!/usr/bin/env bash
case "$*" in
  *connect_ex*) exit 1 ;;
  *json.dumps*) echo '{"sub": "staff@example.com"}'; exit 0 ;;
  *"-m oidc_provider_mock"*) echo "provider: listening nowhere"; exec sleep 60 ;;
  *urlopen*) exit 1 ;;
  *manage.py*) echo "APP STARTED"; exit 0 ;;
esac
exit 2
"""


def test_run_dev_fails_with_the_provider_log_when_the_provider_never_answers(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "run-dev", tmp_path / "scripts" / "run-dev")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)

    result = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "run-dev")],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "did not answer" in result.stderr
    assert "provider: listening nowhere" in result.stderr
    assert "APP STARTED" not in result.stdout


# Made by the running script, so not linked from the checkout.
OWN_FILES = {".dev-provider.log", ".dev-worker.log", "db.sqlite3", ".env", ".git", "test-artifacts", "media"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def workers_in(folder: Path) -> list[int]:
    """The ids of the `manage.py db_worker` processes (the reloader and its child) running in ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(entry / "cwd")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if b"db_worker" in arguments and cwd == str(folder):
            found.append(int(entry.name))
    return found


def test_run_dev_starts_the_task_worker_beside_the_app_and_stops_it_with_the_app(tmp_path):
    for entry in ROOT.iterdir():
        if entry.name not in OWN_FILES:
            (tmp_path / entry.name).symlink_to(entry)
    app_port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DEV_APP_PORT": str(app_port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        # No provider: this test is about the worker.
        "OIDC_ISSUER": "",
        "DEV_OIDC_PROVIDER": "false",
    }
    output = tmp_path / "run-dev.out"
    worker_log = tmp_path / ".dev-worker.log"
    with output.open("w") as log:
        script = subprocess.Popen(
            ["bash", str(tmp_path / "scripts" / "run-dev")],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # as a terminal runs it: the script and runserver in one process group
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert script.poll() is None, output.read_text()
            ready = worker_log.exists() and "Starting worker" in worker_log.read_text()
            try:
                ready = ready and requests.get(f"http://127.0.0.1:{app_port}/healthz", timeout=2).ok
            except requests.ConnectionError:
                ready = False
            if ready:
                break
            assert time.monotonic() < deadline, output.read_text() + worker_log.read_text()
            time.sleep(0.5)
        assert "Task worker: manage.py db_worker (log: .dev-worker.log)." in output.read_text()
        assert workers_in(tmp_path), worker_log.read_text()
        # The worker idles, polling its queue in the same SQLite database, and keeps running.
        time.sleep(2)
        assert workers_in(tmp_path), worker_log.read_text()
        assert "Error" not in worker_log.read_text()

        # What stopping `make run` does: the terminal's process group is signalled, not the worker's own.
        os.killpg(script.pid, signal.SIGTERM)
        script.wait(timeout=30)
        deadline = time.monotonic() + 15
        while workers_in(tmp_path):
            assert time.monotonic() < deadline, f"the worker outlived run-dev: {workers_in(tmp_path)}"
            time.sleep(0.2)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait(timeout=10)
        for pid in workers_in(tmp_path):
            os.kill(pid, signal.SIGKILL)
