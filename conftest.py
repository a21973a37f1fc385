"""Test-wide fixtures and rules.

Tests marked ``postgres`` need PostgreSQL (row locks across connections, statement timeouts). On
another database they are skipped on a developer's machine, and fail in CI (``CI=true``), where
every test must run.
"""

import importlib
import math
import os

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client

from accounts.models import Space, User
from accounts.services import space_create_organization, user_create
from aether.throttling import counter
from onboarding.blueprints import blueprint_create_version
from onboarding.defaults import default_blueprint_spec
from onboarding.models import Blueprint
from onboarding.permissions import GROUP_MIGRATIONS, ONBOARDING_MANAGERS, grant_group_permissions
from onboarding.services import onboard_user

# Sign-in fixtures: dev_provider, keycloak_issuer, page (and tests.signin.sign_in); API clients;
# failures injected into onboarding; gunicorn on loopback and a forwarder that takes the database away.
pytest_plugins = [
    "tests.signin",
    "aether.tests.api_fixtures",
    "onboarding.tests.faults",
    "tests.gunicorn",
    "tests.tcp_forwarder",
    "onboarding.tests.rollout_fixtures",
]

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "live_server" in getattr(item, "fixturenames", ()) or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(autouse=True)
def _require_postgres(request):
    if request.node.get_closest_marker("postgres") is None:
        return
    if connection.vendor == "postgresql":
        return
    message = f"needs PostgreSQL (DATABASE_URL); the database here is {connection.vendor}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _no_throttle_pruning_unasked(monkeypatch):
    """The throttle deletes expired windows at most once a minute per process, in whichever counted
    request comes next (``aether.throttling.counter``). Put off in every test, so that the statements
    a test counts do not depend on where in that minute it runs; the tests of pruning ask for it."""
    monkeypatch.setattr(counter, "_next_prune", math.inf)


@pytest.fixture(autouse=True)
def _default_blueprint(request):
    """Transactional tests flush the database, data migrations included: put back what they made.

    The default blueprint, and the groups with the permissions migrations granted them.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and marker.kwargs.get("transaction")
    if not (transactional or {"transactional_db", "live_server"} & set(request.fixturenames)):
        return
    request.getfixturevalue("transactional_db")
    if not Blueprint.objects.exists():
        fields, documents = default_blueprint_spec()
        blueprint_create_version(fields=fields, documents=documents, change_note="Default blueprint")
    for name in GROUP_MIGRATIONS:
        migration = importlib.import_module(name)
        grant_group_permissions(django_apps, migration.GROUP, migration.PERMISSIONS)


@pytest.fixture
def make_user(db):
    """Create users as sign-in would: with a ``sub``, e-mail, username and full name."""
    counter = iter(range(1, 1_000_000))

    def make(**fields: object) -> User:
        number = next(counter)
        fields.setdefault("sub", f"test-sub-{number}-{os.urandom(3).hex()}")
        fields.setdefault("email", f"user{number}@example.com")
        fields.setdefault("full_name", f"Test User {number}")
        return user_create(**fields)

    return make


@pytest.fixture
def user(make_user) -> User:
    return make_user(full_name="Ada Lovelace", email="ada@example.com")


@pytest.fixture
def onboarding_manager(make_user) -> User:
    """A staff member in "Onboarding managers", as a staff role at sign-in makes them; not a superuser."""
    manager = make_user(email="manager@example.com", full_name="Morgan Manager", is_staff=True)
    manager.groups.add(Group.objects.get(name=ONBOARDING_MANAGERS))
    return manager


@pytest.fixture
def manager_client(onboarding_manager) -> Client:
    """A test client signed in as ``onboarding_manager``."""
    client = Client()
    client.force_login(onboarding_manager)
    return client


@pytest.fixture
def ada(user) -> User:
    """Ada Lovelace (``user``) after her first sign-in: onboarded, with everything the blueprint lists."""
    onboard_user(user=user, trigger="login")
    return user


@pytest.fixture
def signed_in(client, ada):
    """Django's test client, signed in as Ada."""
    client.force_login(ada)
    return client


@pytest.fixture
def acme(ada) -> Space:
    """An organization space that Ada owns."""
    return space_create_organization(owner=ada, name="Acme")
