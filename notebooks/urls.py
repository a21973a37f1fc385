from django.urls import path

from notebooks import views

urlpatterns = [
    path("spaces/<uuid:space_id>/notebooks/new/", views.notebook_create, name="notebook-create"),
    path("notebooks/<uuid:notebook_id>/", views.notebook_detail, name="notebook-detail"),
    path("notebooks/<uuid:notebook_id>/edit/", views.notebook_edit, name="notebook-edit"),
    path("notebooks/<uuid:notebook_id>/delete/", views.notebook_delete, name="notebook-delete"),
    path("notebooks/<uuid:notebook_id>/documents/", views.document_upload, name="document-upload"),
    path("documents/<uuid:document_id>/", views.document_detail, name="document-detail"),
    path("documents/<uuid:document_id>/delete/", views.document_delete, name="document-delete"),
    path("agents/<uuid:agent_id>/", views.agent_detail, name="agent-detail"),
]
