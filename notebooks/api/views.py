"""Notebooks, their search, documents and agents, in the request's space (see ``accounts.api.scoping``)."""

import uuid

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.scoping import SpaceScopedMixin
from accounts.models import Space
from aether.api_parsers import JSONParser, MultiPartParser
from notebooks import selectors, services
from notebooks.api.serializers import (
    AgentInputSerializer,
    AgentSerializer,
    DocumentCreateSerializer,
    DocumentSerializer,
    DocumentUpdateSerializer,
    NotebookInputSerializer,
    NotebookSearchQuerySerializer,
    NotebookSerializer,
)
from notebooks.models import Agent, Document, Notebook


def _notebook_or_404(space: Space, notebook_id: uuid.UUID) -> Notebook:
    notebook = selectors.notebook_in_space(space, notebook_id)
    if notebook is None:
        raise exceptions.NotFound("No such notebook in this space.")
    return notebook


def _document_or_404(space: Space, document_id: uuid.UUID, *, with_content: bool = False) -> Document:
    document = selectors.document_in_space(space, document_id, with_content=with_content)
    if document is None:
        raise exceptions.NotFound("No such document in this space.")
    return document


def _agent_or_404(space: Space, agent_id: uuid.UUID) -> Agent:
    agent = selectors.agent_in_space(space, agent_id)
    if agent is None:
        raise exceptions.NotFound("No such agent in this space.")
    return agent


class NotebookListView(SpaceScopedMixin, GenericAPIView):
    """The current space's notebooks, most recently changed first; POST creates one."""

    serializer_class = NotebookSerializer

    @extend_schema(responses=NotebookSerializer(many=True), operation_id="notebooks_list")
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.notebooks_in_space(self.space))
        return self.get_paginated_response(NotebookSerializer(page, many=True).data)

    @extend_schema(
        request=NotebookInputSerializer, responses={201: NotebookSerializer}, operation_id="notebooks_create"
    )
    def post(self, request: Request) -> Response:
        data = NotebookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        notebook = services.notebook_create(space=self.space, owner=request.user, **data.validated_data)
        notebook = _notebook_or_404(self.space, notebook.pk)
        return Response(NotebookSerializer(notebook).data, status=status.HTTP_201_CREATED)


class NotebookSearchView(SpaceScopedMixin, GenericAPIView):
    """Search the current space's notebooks."""

    serializer_class = NotebookSerializer

    @extend_schema(
        parameters=[NotebookSearchQuerySerializer],
        responses=NotebookSerializer(many=True),
        operation_id="notebooks_search",
    )
    def get(self, request: Request) -> Response:
        """Notebooks of the current space whose name, description or tags contain ``query`` (any case)."""
        query = NotebookSearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.notebook_search(self.space, query.validated_data["query"]))
        return self.get_paginated_response(NotebookSerializer(page, many=True).data)


class NotebookDetailView(SpaceScopedMixin, APIView):
    """One notebook of the current space."""

    @extend_schema(responses=NotebookSerializer, operation_id="notebooks_retrieve")
    def get(self, request: Request, notebook_id: uuid.UUID) -> Response:
        return Response(NotebookSerializer(_notebook_or_404(self.space, notebook_id)).data)

    @extend_schema(
        request=NotebookInputSerializer(partial=True),
        responses=NotebookSerializer,
        operation_id="notebooks_partial_update",
    )
    def patch(self, request: Request, notebook_id: uuid.UUID) -> Response:
        notebook = _notebook_or_404(self.space, notebook_id)
        data = NotebookInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.notebook_update(notebook=notebook, **data.validated_data)
        return Response(NotebookSerializer(_notebook_or_404(self.space, notebook_id)).data)

    @extend_schema(responses={204: None}, operation_id="notebooks_destroy")
    def delete(self, request: Request, notebook_id: uuid.UUID) -> Response:
        services.notebook_delete(notebook=_notebook_or_404(self.space, notebook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotebookDocumentListView(SpaceScopedMixin, GenericAPIView):
    """A notebook's documents; POST uploads one (multipart ``file``, or JSON ``name`` and ``content``)."""

    serializer_class = DocumentSerializer
    parser_classes = [JSONParser, MultiPartParser]
    extra_error_statuses = {"POST": {413}}

    @extend_schema(responses=DocumentSerializer(many=True), operation_id="notebooks_documents_list")
    def get(self, request: Request, notebook_id: uuid.UUID) -> Response:
        notebook = _notebook_or_404(self.space, notebook_id)
        page = self.paginate_queryset(selectors.documents_of(notebook))
        return self.get_paginated_response(DocumentSerializer(page, many=True).data)

    @extend_schema(
        request={
            "application/json": DocumentCreateSerializer,
            "multipart/form-data": DocumentCreateSerializer,
        },
        responses={201: DocumentSerializer},
        operation_id="notebooks_documents_create",
    )
    def post(self, request: Request, notebook_id: uuid.UUID) -> Response:
        notebook = _notebook_or_404(self.space, notebook_id)
        data = DocumentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        if "file" in fields:
            document = services.document_create_from_upload(
                notebook=notebook,
                upload=fields["file"],
                name=fields.get("name"),
                mime_type=fields.get("mime_type"),
                metadata=fields.get("metadata"),
            )
        else:
            document = services.document_create(
                notebook=notebook,
                name=fields["name"],
                data=fields["content"],
                mime_type=fields.get("mime_type") or "text/plain",
                metadata=fields.get("metadata"),
            )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class DocumentDetailView(SpaceScopedMixin, APIView):
    """One document of the current space (without its text: see ``/content``)."""

    @extend_schema(responses=DocumentSerializer, operation_id="documents_retrieve")
    def get(self, request: Request, document_id: uuid.UUID) -> Response:
        return Response(DocumentSerializer(_document_or_404(self.space, document_id)).data)

    @extend_schema(
        request=DocumentUpdateSerializer,
        responses=DocumentSerializer,
        operation_id="documents_partial_update",
    )
    def patch(self, request: Request, document_id: uuid.UUID) -> Response:
        document = _document_or_404(self.space, document_id)
        data = DocumentUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = services.document_update(document=document, **data.validated_data)
        return Response(DocumentSerializer(document).data)

    @extend_schema(responses={204: None}, operation_id="documents_destroy")
    def delete(self, request: Request, document_id: uuid.UUID) -> Response:
        services.document_delete(document=_document_or_404(self.space, document_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentContentView(SpaceScopedMixin, APIView):
    """A document's text."""

    @extend_schema(
        responses={
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR, description="The document's text, as stored."
            ),
        },
        operation_id="documents_content",
    )
    def get(self, request: Request, document_id: uuid.UUID) -> HttpResponse:
        """The document's raw text, with its mime type."""
        document = _document_or_404(self.space, document_id, with_content=True)
        response = HttpResponse(document.read_text(), content_type=f"{document.mime_type}; charset=utf-8")
        # The text is the user's: never let a browser run it (an uploaded text/html, say) on this origin.
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Content-Disposition"] = "inline"
        return response


class AgentListView(SpaceScopedMixin, GenericAPIView):
    """The current space's agents; POST creates one, its knowledge notebooks from the same space."""

    serializer_class = AgentSerializer

    @extend_schema(responses=AgentSerializer(many=True), operation_id="agents_list")
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.agents_in_space(self.space))
        return self.get_paginated_response(AgentSerializer(page, many=True).data)

    @extend_schema(
        request=AgentInputSerializer, responses={201: AgentSerializer}, operation_id="agents_create"
    )
    def post(self, request: Request) -> Response:
        data = AgentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agent = services.agent_create(space=self.space, owner=request.user, **data.validated_data)
        return Response(
            AgentSerializer(_agent_or_404(self.space, agent.pk)).data, status=status.HTTP_201_CREATED
        )


class AgentDetailView(SpaceScopedMixin, APIView):
    """One agent of the current space."""

    @extend_schema(responses=AgentSerializer, operation_id="agents_retrieve")
    def get(self, request: Request, agent_id: uuid.UUID) -> Response:
        return Response(AgentSerializer(_agent_or_404(self.space, agent_id)).data)

    @extend_schema(
        request=AgentInputSerializer(partial=True),
        responses=AgentSerializer,
        operation_id="agents_partial_update",
    )
    def patch(self, request: Request, agent_id: uuid.UUID) -> Response:
        agent = _agent_or_404(self.space, agent_id)
        data = AgentInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.agent_update(agent=agent, **data.validated_data)
        return Response(AgentSerializer(_agent_or_404(self.space, agent_id)).data)

    @extend_schema(responses={204: None}, operation_id="agents_destroy")
    def delete(self, request: Request, agent_id: uuid.UUID) -> Response:
        services.agent_delete(agent=_agent_or_404(self.space, agent_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
