"""A logout token is acted on once across replicas: two gunicorn instances of Aether, one database.

Both instances are real gunicorn processes on loopback, started from the command line, serving
``aether.wsgi`` against this test's PostgreSQL database and the development provider running in
this process. The sessions are opened through the provider by Django's test client, in the same
database, so both instances and this test see the same sessions and the same remembered ``jti``\\ s.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.db import connection
from django.test import Client

from accounts.models import ConsumedLogoutToken
from tests.signin import TEST_CLIENT_ID, TEST_CLIENT_SECRET

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
LOGOUT_PATH = "/oidc/backchannel-logout/"
START_TIMEOUT_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    """The URL of the database this test runs in (pytest-django's test database)."""
    db = connection.settings_dict
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            # Not listening yet, or listening while its worker still loads the app (a busy machine).
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer within {START_TIMEOUT_SECONDS} s:\n{log.read_text()}")


@pytest.fixture
def replicas(dev_provider, tmp_path) -> Iterator[list[str]]:
    """Two gunicorn instances of Aether (one worker each) sharing this test's database."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aether.settings",
        "DJANGO_SECRET_KEY": "replica-test-secret-key",
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": _database_url(),
        "OIDC_ISSUER": dev_provider.url,
        "OIDC_CLIENT_ID": TEST_CLIENT_ID,
        "OIDC_CLIENT_SECRET": TEST_CLIENT_SECRET,
    }
    started = []
    for number in (1, 2):
        port, log = _free_port(), tmp_path / f"gunicorn-{number}.log"
        command = [
            sys.executable, "-m", "gunicorn", "aether.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", "1", "--graceful-timeout", "5",
        ]  # fmt: skip
        with log.open("w") as output:
            process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=output, stderr=output)
        started.append((f"http://127.0.0.1:{port}", process, log))
    try:
        for url, process, log in started:
            _wait_until_up(url, process, log)
        yield [url for url, _process, _log in started]
    finally:
        for _url, process, _log in started:
            process.terminate()
        for _url, process, _log in started:
            process.wait(timeout=15)


def signed_in(dev_provider, sub: str) -> Client:
    client = Client()
    response = dev_provider.sign_in(client, sub, email=f"{sub}@example.com", sid=f"op-{time.monotonic_ns()}")
    assert response.status_code == 302
    return client


def is_signed_in(client: Client) -> bool:
    return client.get("/").wsgi_request.user.is_authenticated


def send(url: str, token: str) -> requests.Response:
    return requests.post(f"{url}{LOGOUT_PATH}", data={"logout_token": token}, timeout=15)


def test_a_logout_token_replayed_to_another_instance_is_refused_and_ends_nothing(replicas, dev_provider):
    first, second = replicas
    ada = signed_in(dev_provider, "ada-replicas")
    token = dev_provider.logout_token(sub="ada-replicas")

    accepted = send(first, token)
    assert accepted.status_code == 200
    assert not is_signed_in(ada)
    again = signed_in(dev_provider, "ada-replicas")

    replayed = send(second, token)

    assert replayed.status_code == 400
    assert replayed.headers["Cache-Control"] == "no-store"
    assert replayed.json()["error"] == "invalid_request"
    assert "used before" in replayed.json()["error_description"]
    assert is_signed_in(again)


def test_one_token_sent_to_both_instances_at_once_is_acted_on_once(replicas, dev_provider):
    signed_in(dev_provider, "grace-replicas")
    token = dev_provider.logout_token(sub="grace-replicas")
    # Both instances have fetched the provider's keys already: the two requests race in the database.
    for url in replicas:
        assert send(url, dev_provider.logout_token(sub="nobody")).status_code == 200
    barrier = threading.Barrier(len(replicas))
    statuses: list[int] = []

    def post(url: str) -> None:
        barrier.wait()
        statuses.append(send(url, token).status_code)

    threads = [threading.Thread(target=post, args=(url,)) for url in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 400]
    assert ConsumedLogoutToken.objects.count() == 3  # two warm-ups, one token
