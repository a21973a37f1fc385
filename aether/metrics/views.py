"""``GET /metrics``: the Prometheus exposition, for a scraper holding ``METRICS_TOKEN``.

Prometheus scrapes each pod by its IP, which ``DJANGO_ALLOWED_HOSTS`` rightly does not list, so
``aether.health.ProbeMiddleware`` answers this route before host validation, as it does the probes.
"""

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.exposition import choose_encoder

from aether.metrics import scrape_registry


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Every metric of this process (all gunicorn workers in multiprocess mode) and the read-outs.

    Without ``METRICS_TOKEN`` the route does not exist (404); a missing or wrong bearer token is
    refused with 401, the comparison taking the same time however much of the token matches.
    """
    expected = settings.METRICS_TOKEN
    if not expected:
        raise Http404("Metrics are off: METRICS_TOKEN is not set.")
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(supplied.strip().encode(), expected.encode()):
        response = HttpResponse(
            "A bearer token is required: Authorization: Bearer <METRICS_TOKEN>.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(scrape_registry()), content_type=content_type)
