"""Fixtures shared with other apps' tests."""

# gunicorn on loopback against the test database (``start_gunicorn(**environment)``).
from aether.tests.test_metrics_gunicorn import start_gunicorn  # noqa: F401
