"""Liveness and readiness probes for the orchestrator.

Probes (and Prometheus's scrapes of ``/metrics``) arrive by pod IP or ``127.0.0.1``, which
``DJANGO_ALLOWED_HOSTS`` rightly does not list, so ``ProbeMiddleware`` (right after the request id and
request metrics in ``MIDDLEWARE``) answers them before any host validation, session or CSRF work. The
same views are also routed in ``aether/urls.py``.
"""

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from aether.database_outage import log_database_unavailable
from aether.metrics.views import metrics


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers; touches nothing else, so a database outage never restarts the pods."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """The database answers and every migration is applied: ready to take traffic."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        response = JsonResponse(
            {"status": "unavailable", "database": "error", "detail": type(exc).__name__}, status=503
        )
        log_database_unavailable(request, exc, response)
        return response
    if pending:
        return JsonResponse(
            {"status": "unavailable", "database": "ok", "pending_migrations": len(pending)},
            status=503,
        )
    return JsonResponse({"status": "ok", "database": "ok", "pending_migrations": 0})


class ProbeMiddleware:
    """Answer ``/healthz``, ``/readyz`` and ``/metrics`` before the rest of the stack sees the request."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.probes = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics}

    def __call__(self, request: HttpRequest):
        probe = self.probes.get(request.path_info)
        if probe is not None:
            return probe(request)
        return self.get_response(request)
