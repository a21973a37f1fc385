from django.contrib import admin
from django.urls import include, path

from aether import health, views
from aether.metrics.views import metrics
from onboarding.admin.overview import onboarding_overview_view

urlpatterns = [
    path("", views.home, name="home"),
    path("spaces/<uuid:space_id>/", views.space_dashboard, name="space-dashboard"),
    path("spaces/switch/", views.space_switch, name="space-switch"),
    path("", include("accounts.space_urls")),
    path("", include("notebooks.urls")),
    path("", include("onboarding.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("oidc/", include("accounts.urls")),
    path("api/v1/", include("aether.api_urls")),
    # Before the admin's own URLs, whose catch-all would answer this path with a 404.
    path("admin/onboarding/overview/", onboarding_overview_view, name="onboarding-overview"),
    path("admin/", admin.site.urls),
]

# Under /api/ errors answer JSON; elsewhere Django's pages. An unreachable database answers 503.
handler400 = "aether.api_errors.bad_request"
handler404 = "aether.api_errors.page_not_found"
handler500 = "aether.database_outage.server_error"
