"""`make run`'s staff path, for real: scripts/run-dev with its development provider, signed in in Chromium.

The script runs as `make run` runs it, on free ports (DEV_APP_PORT, DEV_OIDC_PROVIDER_PORT) and a
SQLite database of its own, from a folder that links to this checkout, so the provider's log and
the database land there and not in the checkout.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.signin import require_chromium

ROOT = Path(__file__).resolve().parent.parent
# Made by the running script, so not linked from the checkout.
OWN_FILES = {
    *(".dev-provider.log", ".dev-worker.log", "db.sqlite3", ".env", ".git"),
    *("test-artifacts", "staticfiles", "media"),
}

# One run of the script for the module: its tests stay on one worker.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("make-run")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class DevServers:
    app: str
    provider: str
    output: Path


@pytest.fixture(scope="module")
def make_run(tmp_path_factory) -> Iterator[DevServers]:
    require_chromium()
    home = tmp_path_factory.mktemp("make-run")
    for entry in ROOT.iterdir():
        if entry.name not in OWN_FILES:
            (home / entry.name).symlink_to(entry)
    app_port, provider_port = free_port(), free_port()
    output = home / "run-dev.out"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "DEV_APP_PORT": str(app_port),
        "DEV_OIDC_PROVIDER_PORT": str(provider_port),
        "DATABASE_URL": f"sqlite:///{home / 'db.sqlite3'}",
        # Set, and empty: a developer's .env must not point this run elsewhere.
        "OIDC_ISSUER": "",
        "OIDC_CLIENT_ID": "",
        "OIDC_CLIENT_SECRET": "",
        "OIDC_STAFF_ROLES": "",
        "OIDC_SUPERUSER_ROLES": "",
        "OIDC_ROLE_GROUPS": "",
        "DEV_OIDC_PROVIDER": "true",
    }
    with output.open("w") as log:
        process = subprocess.Popen(
            ["bash", str(home / "scripts" / "run-dev")],
            cwd=home,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: runserver's reloader child goes with it
        )
    servers = DevServers(f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{provider_port}", output)
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"scripts/run-dev stopped:\n{output.read_text()}")
            try:
                if requests.get(f"{servers.app}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"scripts/run-dev did not serve in time:\n{output.read_text()}")
            time.sleep(0.5)
        yield servers
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def signed_in(browser, servers: DevServers, *, button: str | None = None, typed: str | None = None):
    """A new browser signed in at the app through the provider's page: a one-click user, or one typed."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(f"{servers.app}/")
    page.get_by_role("link", name="Sign in").click()
    page.wait_for_url(f"{servers.provider}/**")
    if button:
        page.get_by_role("button", name=button, exact=True).click()
    else:
        page.locator("input[name=sub]").fill(typed)
        page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{servers.app}/")
    return context, page


def test_make_run_says_how_to_sign_in_as_staff(make_run):
    output = make_run.output.read_text()

    assert (
        'Sign in as staff: press "staff@example.com" on the provider\'s page (it holds the role aether-staff)'
        in output
    )
    assert f"{make_run.app}/admin/" in output
    assert "-m aether.devprovider ADDRESS --roles aether-staff" in output


def test_the_offered_staff_user_reaches_the_admin_and_manages_onboarding(make_run, _chromium):
    context, page = signed_in(_chromium, make_run, button="staff@example.com")
    try:
        page.goto(f"{make_run.app}/admin/")

        assert page.title() == "Site administration | Aether administration"
        for model in ("Users", "Onboarding runs", "Blueprints"):
            assert page.get_by_role("link", name=model, exact=True).is_visible(), model
        assert page.get_by_role("link", name="Groups").count() == 0
        page.get_by_role("link", name="Users", exact=True).click()
        expect(page.get_by_role("link", name="staff@example.com")).to_be_visible()
    finally:
        context.close()


def test_the_one_line_command_makes_any_address_staff_and_can_take_it_back(make_run, _chromium):
    def devprovider(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "aether.devprovider", *args, "--issuer", make_run.provider],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return result.stdout

    assert devprovider("ada@example.com", "--roles", "aether-staff") == (
        f"ada@example.com now holds aether-staff at the development provider ({make_run.provider}); "
        "sign in as ada@example.com again.\n"
    )
    context, page = signed_in(_chromium, make_run, typed="ada@example.com")
    page.goto(f"{make_run.app}/admin/")
    assert page.title() == "Site administration | Aether administration"
    context.close()

    devprovider("ada@example.com", "--roles", "")
    context, page = signed_in(_chromium, make_run, typed="ada@example.com")
    page.goto(f"{make_run.app}/admin/")
    # No longer staff: the admin asks for a staff account instead.
    assert "/admin/login/" in page.url
    context.close()


def test_an_address_without_the_role_is_not_let_into_the_admin(make_run, _chromium):
    context, page = signed_in(_chromium, make_run, typed="visitor@example.com")
    page.goto(f"{make_run.app}/admin/")

    assert "/admin/login/" in page.url
    context.close()


def test_the_one_line_command_says_when_no_provider_answers():
    result = subprocess.run(
        [sys.executable, "-m", "aether.devprovider", "ada@example.com", "--roles", "aether-staff"],
        cwd=ROOT,
        env={**os.environ, "OIDC_ISSUER": f"http://127.0.0.1:{free_port()}"},
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 1
    assert "The development provider does not answer at http://127.0.0.1:" in result.stderr
    assert "is `make run` running?" in result.stderr
