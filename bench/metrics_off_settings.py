"""Production settings without the request metrics middleware: the baseline of bench/metrics_overhead.py."""

from aether.settings import *  # noqa: F403

MIDDLEWARE = [
    name
    for name in MIDDLEWARE  # noqa: F405
    if name != "aether.metrics.middleware.RequestMetricsMiddleware"
]
