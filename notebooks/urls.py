from django.urls import path

from notebooks.views import agents, documents, notebooks

urlpatterns = [
    path("spaces/<uuid:space_id>/notebooks/new/", notebooks.notebook_create, name="notebook-create"),
    path("spaces/<uuid:space_id>/search/", notebooks.notebook_search, name="notebook-search"),
    path("notebooks/<uuid:notebook_id>/", notebooks.notebook_detail, name="notebook-detail"),
    path("notebooks/<uuid:notebook_id>/edit/", notebooks.notebook_edit, name="notebook-edit"),
    path("notebooks/<uuid:notebook_id>/delete/", notebooks.notebook_delete, name="notebook-delete"),
    path("notebooks/<uuid:notebook_id>/documents/", documents.document_upload, name="document-upload"),
    path("documents/<uuid:document_id>/", documents.document_detail, name="document-detail"),
    path("documents/<uuid:document_id>/rename/", documents.document_rename, name="document-rename"),
    path("documents/<uuid:document_id>/delete/", documents.document_delete, name="document-delete"),
    path("spaces/<uuid:space_id>/agents/new/", agents.agent_create, name="agent-create"),
    path("agents/<uuid:agent_id>/", agents.agent_detail, name="agent-detail"),
    path("agents/<uuid:agent_id>/edit/", agents.agent_edit, name="agent-edit"),
    path("agents/<uuid:agent_id>/delete/", agents.agent_delete, name="agent-delete"),
]
