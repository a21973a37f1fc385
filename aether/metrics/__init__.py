"""Prometheus metrics: what this process records, and the registry that a scrape of ``/metrics`` reads.

Metrics are recorded into ``METRICS``. Under gunicorn every worker is a process of its own, so the
Prometheus client's multiprocess mode is used when ``PROMETHEUS_MULTIPROC_DIR`` is set: each worker
writes its values to files in that directory, and a scrape, answered by any one worker, adds up the
files of all of them (``MultiProcessCollector``). The client reads the variable once, when it is first
imported, so it must be in the environment before the server starts (the Dockerfile sets it;
``gunicorn.conf.py`` empties the directory at start and forgets dead workers' live values). Without it
(``runserver``, the tests, a one-process server) a scrape reads this process's own values.

Collectors that read the database at scrape time (users per onboarding status) are registered with
``register_scrape_collector`` by the app that owns the data; this package knows nothing of the domain.
"""

import os

from aether.env import env_unset_if_empty

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
__all__ = ["METRICS", "mark_process_dead", "multiprocess_dir", "register_scrape_collector", "scrape_registry"]

# The client turns multiprocess mode on when the variable merely exists, and with an empty value fails
# at the first metric. Empty means unset, as for every other variable (.env.example lists it empty):
# settled here for gunicorn's master, and by aether/settings.py for every Django process, before any
# app can import the client.
env_unset_if_empty(MULTIPROCESS_DIR_VARIABLE)

import prometheus_client  # noqa: E402 - after the variable is settled
from prometheus_client import CollectorRegistry  # noqa: E402
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402

# Read as the client reads it: it chose how values are stored when it was imported, just above.
_multiprocess_dir = os.environ.get(MULTIPROCESS_DIR_VARIABLE)

# The `_created` series are left out: the multiprocess collector never has them, so a scrape looks the
# same in both modes.
prometheus_client.disable_created_metrics()

#: Every metric this process records is registered here (not in the client's global registry, which
#: also holds the client's own process and platform collectors).
METRICS = CollectorRegistry(auto_describe=True)

# By class: registering again (an app's ready() run twice) replaces rather than doubles the series.
_scrape_collectors: dict[type, Collector] = {}


def multiprocess_dir() -> str | None:
    """The multiprocess directory this process records into, or ``None`` in single-process mode."""
    return _multiprocess_dir


def register_scrape_collector(collector: Collector) -> None:
    """Add a collector that every scrape asks for its values, after the recorded metrics."""
    _scrape_collectors[type(collector)] = collector


class _ThisProcess(Collector):
    """The values recorded in this process, for a scrape in single-process mode."""

    def collect(self):
        return METRICS.collect()


def scrape_registry() -> CollectorRegistry:
    """A registry with everything one scrape reports: the workers' recorded values, then the read-outs."""
    registry = CollectorRegistry(auto_describe=False)
    if _multiprocess_dir:
        MultiProcessCollector(registry, path=_multiprocess_dir)
    else:
        registry.register(_ThisProcess())
    for collector in _scrape_collectors.values():
        registry.register(collector)
    return registry
