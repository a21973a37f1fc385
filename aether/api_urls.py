"""Routes of the JSON API, mounted at ``/api/v1/``."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from accounts.api import spaces
from accounts.api.views import UserMeView
from aether.api_docs import ApiDocsView
from notebooks.api import views as notebooks
from onboarding.api.views import OnboardingRetryView, OnboardingRunListView, OnboardingStatusView

app_name = "api"

urlpatterns = [
    path("users/me", UserMeView.as_view(), name="users-me"),
    path("users/me/spaces", spaces.MySpacesView.as_view(), name="users-me-spaces"),
    path("users/me/onboarding/status", OnboardingStatusView.as_view(), name="onboarding-status"),
    path("users/me/onboarding/runs", OnboardingRunListView.as_view(), name="onboarding-runs"),
    path("users/me/onboarding/retry", OnboardingRetryView.as_view(), name="onboarding-retry"),
    path("spaces", spaces.SpaceListView.as_view(), name="spaces"),
    path("spaces/<uuid:space_id>", spaces.SpaceDetailView.as_view(), name="space"),
    path("spaces/<uuid:space_id>/members", spaces.MemberListView.as_view(), name="space-members"),
    path(
        "spaces/<uuid:space_id>/members/<uuid:user_id>",
        spaces.MemberDetailView.as_view(),
        name="space-member",
    ),
    path("notebooks", notebooks.NotebookListView.as_view(), name="notebooks"),
    path("notebooks/search", notebooks.NotebookSearchView.as_view(), name="notebooks-search"),
    path("notebooks/<uuid:notebook_id>", notebooks.NotebookDetailView.as_view(), name="notebook"),
    path(
        "notebooks/<uuid:notebook_id>/documents",
        notebooks.NotebookDocumentListView.as_view(),
        name="notebook-documents",
    ),
    path("documents/<uuid:document_id>", notebooks.DocumentDetailView.as_view(), name="document"),
    path(
        "documents/<uuid:document_id>/content",
        notebooks.DocumentContentView.as_view(),
        name="document-content",
    ),
    path("agents", notebooks.AgentListView.as_view(), name="agents"),
    path("agents/<uuid:agent_id>", notebooks.AgentDetailView.as_view(), name="agent"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(url_name="api:schema"), name="docs"),
]
