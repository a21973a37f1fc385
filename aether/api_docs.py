"""The browsable API documentation (Swagger UI), under the site's strict Content-Security-Policy.

drf-spectacular's split view serves its start-up script as a separate file instead of inline, the
sidecar package serves Swagger UI's files from this site, and the page template below has no inline
style: nothing needs the policy relaxed.
"""

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
