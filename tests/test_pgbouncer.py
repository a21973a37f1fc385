"""Aether behind PgBouncer in transaction mode: concurrent first sign-ins still leave one of each resource.

Debian's pgbouncer (installed by ``scripts/ensure-pgbouncer``, which ``make test`` runs) starts here on
a free loopback port with a configuration of this test's own, ``pool_mode = transaction`` and fewer
server connections than gunicorn has threads, so that consecutive transactions of one Django
connection run on different PostgreSQL sessions. gunicorn (``tests/gunicorn.py``) reaches the test
database only through it, with ``DATABASE_DISABLE_SERVER_SIDE_CURSORS=true`` and
``DATABASE_PREPARED_STATEMENTS=false`` as the README says; the
tokens come from the Keycloak-shaped issuer on loopback.
"""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import connection

from accounts.models import Space, User
from notebooks.models import Agent, Document, Notebook
from onboarding.models import UserOnboarding
from tests.gunicorn import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PGBOUNCER = "/usr/sbin/pgbouncer"
SERVER_CONNECTIONS = 2
GUNICORN_WORKERS, GUNICORN_THREADS = 2, 4


@dataclass
class PgBouncer:
    port: int
    database: str
    log: Path

    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def show(self, what: str) -> list[dict]:
        """A ``SHOW`` of PgBouncer's admin console, one dict per row."""
        # The admin console speaks the simple query protocol only, which a ClientCursor uses.
        with psycopg.connect(
            f"postgres://postgres@127.0.0.1:{self.port}/pgbouncer",
            autocommit=True,
            cursor_factory=psycopg.ClientCursor,
        ) as admin:
            cursor = admin.execute(f"SHOW {what}")
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture
def pgbouncer() -> Iterator[PgBouncer]:
    if not os.access(PGBOUNCER, os.X_OK):
        message = f"needs Debian's pgbouncer at {PGBOUNCER}: run scripts/ensure-pgbouncer"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    settings = connection.settings_dict
    port = free_port()
    # As root, pgbouncer refuses to run unless told which user to become (-u); that user must be able
    # to read the configuration and write the log, so the directory is its own.
    directory = Path(tempfile.mkdtemp(prefix="aether-pgbouncer-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(directory, user.pw_uid, user.pw_gid)
        run_as = ["-u", "postgres"]
    (directory / "userlist.txt").write_text('"postgres" ""\n')
    name, host, server_port = settings["NAME"], settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    (directory / "pgbouncer.ini").write_text(
        f"""
[databases]
{name} = host={host} port={server_port} dbname={name}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = {SERVER_CONNECTIONS}
max_db_connections = {SERVER_CONNECTIONS}
max_client_conn = 100
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
"""
    )
    log = directory / "pgbouncer.log"
    process = subprocess.Popen(
        [PGBOUNCER, *run_as, str(directory / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    bouncer = PgBouncer(port=port, database=name, log=log)
    deadline = time.monotonic() + 15
    while True:
        assert process.poll() is None, process.stderr.read().decode() + (
            log.read_text() if log.exists() else ""
        )
        try:
            bouncer.show("VERSION")
            break
        except psycopg.OperationalError:
            assert time.monotonic() < deadline, (
                log.read_text() if log.exists() else "pgbouncer never answered"
            )
            time.sleep(0.1)
    yield bouncer
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    shutil.rmtree(directory, ignore_errors=True)


def in_parallel(calls: list) -> list[requests.Response]:
    """Every call at the same moment, each in its own thread."""
    barrier = threading.Barrier(len(calls))

    def run(call) -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_concurrent_first_calls_through_pgbouncer_in_transaction_mode_onboard_each_user_once(
    pgbouncer, keycloak_issuer, start_gunicorn
):
    server = start_gunicorn(
        workers=GUNICORN_WORKERS,
        DATABASE_URL=pgbouncer.url(),
        DATABASE_DISABLE_SERVER_SIDE_CURSORS="true",
        # PgBouncer 1.18 cannot keep prepared statements between transactions (README, "Capacity").
        DATABASE_PREPARED_STATEMENTS="false",
        GUNICORN_WORKER_CLASS="gthread",
        GUNICORN_THREADS=str(GUNICORN_THREADS),
    )
    subs = [f"pooled-{number}" for number in range(6)]
    tokens = {sub: keycloak_issuer.access_token(sub) for sub in subs}

    def get(sub: str, route: str):
        headers = {"Authorization": f"Bearer {tokens[sub]}"}
        return lambda: requests.get(f"{server.url}/api/v1/{route}", headers=headers, timeout=60)

    # Each user's first call four times at once: 24 first onboardings racing over 2 server connections.
    first = in_parallel([get(sub, "users/me") for sub in subs for _ in range(4)])
    # Then every user's reads at once, alongside one another.
    routes = ["users/me", "users/me/spaces", "users/me/onboarding/status", "notebooks", "agents"]
    reads = in_parallel([get(sub, route) for sub in subs for route in routes])

    assert [answer.status_code for answer in first + reads] == [200] * (len(first) + len(reads)), [
        answer.text for answer in first + reads if answer.status_code != 200
    ]
    assert {answer.json()["onboarding_status"] for answer in reads if answer.url.endswith("/me")} == {
        "completed"
    }
    for sub in subs:
        user = User.objects.get(sub=sub)
        assert Space.objects.filter(owner=user, type="personal").count() == 1
        assert Notebook.objects.filter(owner=user).count() == 1
        assert Document.objects.filter(notebook__owner=user).count() == 3
        assert Agent.objects.filter(owner=user).count() == 1
        assert UserOnboarding.objects.get(user=user).status == "completed"
    statuses = [answer.json() for answer in reads if answer.url.endswith("/onboarding/status")]
    assert {len(status["resources"]["document_ids"]) for status in statuses} == {3}

    # It all went through PgBouncer, in transaction mode, over at most its two server connections.
    (pool,) = [row for row in pgbouncer.show("POOLS") if row["database"] == pgbouncer.database]
    assert pool["pool_mode"] == "transaction"
    (stats,) = [row for row in pgbouncer.show("STATS") if row["database"] == pgbouncer.database]
    assert stats["total_xact_count"] > len(first) + len(reads)
    servers = [row for row in pgbouncer.show("SERVERS") if row["database"] == pgbouncer.database]
    clients = [row for row in pgbouncer.show("CLIENTS") if row["database"] == pgbouncer.database]
    assert 1 <= len(servers) <= SERVER_CONNECTIONS < len(clients)
    assert "ERROR" not in server.log_text() and "Traceback" not in server.log_text()
