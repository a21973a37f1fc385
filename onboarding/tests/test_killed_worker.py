"""A gunicorn worker killed (SIGKILL) in the middle of an onboarding, as its supervisor or the kernel's
out-of-memory killer would: nothing of the run stays but its record, the user's next call completes the
onboarding, and the runs route shows the killed run as failed.

The run is held at its last step by the database itself: this test holds a lock on the agents' table,
so the worker's run waits with its space, notebook and documents written but not committed.
"""

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from django.db import connection, transaction

from aether.tests.concurrency import poll_for_row
from notebooks.models import Agent, Document, Notebook
from onboarding.models import UserOnboarding
from onboarding.recording import ABANDONED_RUN_ERROR

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@contextmanager
def agents_table_locked() -> Iterator[None]:
    """Hold ``notebooks_agent`` so that inserting an agent waits (reads still go on) until the block ends."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("LOCK TABLE notebooks_agent IN EXCLUSIVE MODE")
                locked.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        yield
    finally:
        release.set()
        holder.join(timeout=15)


def client_port_waiting_for_the_agents_table() -> int:
    """The client port of the connection whose insert waits for ``agents_table_locked``."""
    (port,) = poll_for_row(
        "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.relation = 'notebooks_agent'::regclass AND NOT l.granted",
        what="no onboarding run reached its agent step",
        timeout=30,
    )
    return port


def process_with_local_port(port: int, pids: list[int]) -> int:
    """Which of ``pids`` owns the TCP socket bound to ``port`` on this machine."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for pid in pids:
        for descriptor in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(descriptor) in inodes:
                    return pid
            except FileNotFoundError:
                continue  # closed meanwhile
    raise AssertionError(f"none of the workers {pids} has a connection from port {port}")


def worker_pids(log: str) -> list[int]:
    return [int(line.rsplit(" ", 1)[1]) for line in log.splitlines() if "Booting worker with pid:" in line]


def test_a_run_killed_with_its_worker_is_shown_failed_after_the_next_call_completes(
    keycloak_issuer, start_gunicorn
):
    # Long enough that only the liveness lock, not the age of the run, can tell the next run it died.
    # (gunicorn.conf.py wants the graceful timeout longer than that.)
    server = start_gunicorn(ONBOARDING_TIMEOUT_SECONDS="60", GUNICORN_GRACEFUL_TIMEOUT="61")
    token = keycloak_issuer.access_token("killed-mid-run", email="killed@example.com")
    headers = {"Authorization": f"Bearer {token}"}
    first_call: list[BaseException | requests.Response] = []

    def call() -> None:
        try:
            first_call.append(requests.get(f"{server.url}/api/v1/users/me", headers=headers, timeout=60))
        except requests.RequestException as exc:
            first_call.append(exc)

    with agents_table_locked():
        caller = threading.Thread(target=call)
        caller.start()
        port = client_port_waiting_for_the_agents_table()
        worker = process_with_local_port(port, worker_pids(server.log_text()))
        # Mid-run: the space, notebook and documents are written, not committed; the run is recorded.
        assert not Notebook.objects.filter(owner__sub="killed-mid-run").exists()
        os.kill(worker, signal.SIGKILL)
        caller.join(timeout=30)
    assert isinstance(first_call[0], requests.ConnectionError), first_call

    after = requests.get(f"{server.url}/api/v1/users/me", headers=headers, timeout=60)
    runs = requests.get(f"{server.url}/api/v1/users/me/onboarding/runs", headers=headers, timeout=60)

    assert (after.status_code, after.json()["onboarding_status"]) == (200, "completed")
    assert runs.status_code == 200
    completed, killed = runs.json()["results"]
    assert (completed["trigger"], completed["status"], completed["error"]) == ("api", "completed", "")
    assert (killed["trigger"], killed["status"], killed["error"]) == ("api", "failed", ABANDONED_RUN_ERROR)
    assert killed["finished_at"] == completed["finished_at"]
    assert killed["steps"] == []  # it never got to record them
    user = UserOnboarding.objects.get(user__sub="killed-mid-run").user
    assert Notebook.objects.filter(owner=user).count() == 1
    assert Document.objects.filter(notebook__owner=user).count() == 3
    assert Agent.objects.filter(owner=user).count() == 1
    assert f"Worker (pid:{worker}) was sent SIGKILL" in server.log_text()
