"""The test settings without the request metrics middleware: the baseline of bench/metrics_overhead.py."""

from aether.test_settings import *  # noqa: F403

MIDDLEWARE = [
    name
    for name in MIDDLEWARE  # noqa: F405
    if name != "aether.metrics.middleware.RequestMetricsMiddleware"
]
