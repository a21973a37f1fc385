"""Request counts and latencies by view, method and status: one histogram.

A histogram's ``_count`` series is the number of requests, so no separate counter is kept (it would
cost every request a third write for a figure the histogram already has).
"""

import time
from functools import lru_cache

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from prometheus_client import Histogram

from aether.metrics import METRICS

# Label value for a request no URL pattern matched (a 404, a scanner's probe of /wp-login.php): one
# series for all of them, whatever the path, so nobody can grow the metrics by inventing paths.
UNRESOLVED_VIEW = "<unresolved>"
REQUEST_LABELS = ("view", "method", "status")
# From a static file or a probe (a few ms) to a first sign-in that runs onboarding under its timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Only the methods Aether answers; anything else is counted as "other" (the method is the caller's text).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUEST_DURATION = Histogram(
    "aether_http_request_duration_seconds",
    "Requests (_count) and the time from each reaching Django to its response, by view (URL name), "
    "method and status code.",
    REQUEST_LABELS,
    buckets=LATENCY_BUCKETS,
    registry=METRICS,
)


class RequestMetricsMiddleware:
    """Count and time every request answered below it in ``MIDDLEWARE`` (second, after the request id)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        REQUEST_DURATION.labels(view_name(request), _method(request), str(response.status_code)).observe(
            elapsed
        )
        return response


def view_name(request: HttpRequest) -> str:
    """The URL pattern's name (``notebook-detail``, ``admin:index``), never the path with its ids.

    Requests answered before URL resolution (the probes, ``/metrics``, a host refused by
    ``ALLOWED_HOSTS``) are resolved here: those routes are in ``aether/urls.py`` as well.
    """
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name
    return _resolve_name(request.path_info, getattr(request, "urlconf", None))


# The probes come every few seconds and resolving costs more than counting: remember the last paths.
@lru_cache(maxsize=256)
def _resolve_name(path: str, urlconf: str | None) -> str:
    try:
        return resolve(path, urlconf=urlconf).view_name
    except Resolver404:
        return UNRESOLVED_VIEW


def _method(request: HttpRequest) -> str:
    method = request.method or ""
    return method if method in KNOWN_METHODS else "other"
