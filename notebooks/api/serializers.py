"""Shapes of notebooks, documents and agents in the API, and the input each write accepts.

Input serializers check types and lengths; the services apply the models' own validators, so the
API and the pages refuse the same things with the same messages.
"""

from rest_framework import serializers

from notebooks.models import Agent, Document, Notebook
from notebooks.validators import (
    DESCRIPTION_MAX_LENGTH,
    SEARCH_QUERY_MAX_LENGTH,
    SYSTEM_PROMPT_MAX_LENGTH,
    TAG_MAX_LENGTH,
    TAGS_MAX_COUNT,
    validate_metadata,
    validate_search_query,
)


def _max_length(model, field: str) -> int:
    return model._meta.get_field(field).max_length


class TagsField(serializers.ListField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            child=serializers.CharField(max_length=TAG_MAX_LENGTH), max_length=TAGS_MAX_COUNT, **kwargs
        )


class NotebookSerializer(serializers.ModelSerializer):
    space_id = serializers.UUIDField(read_only=True)
    owner_id = serializers.UUIDField(read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    document_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Notebook
        fields = [
            "id",
            "space_id",
            "owner_id",
            "name",
            "description",
            "tags",
            "visibility",
            "document_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class NotebookInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=_max_length(Notebook, "name"))
    description = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=DESCRIPTION_MAX_LENGTH
    )
    tags = TagsField(required=False)
    visibility = serializers.ChoiceField(choices=Notebook.Visibility.choices, required=False)


class NotebookSearchQuerySerializer(serializers.Serializer):
    query = serializers.CharField(
        min_length=1,
        max_length=SEARCH_QUERY_MAX_LENGTH,
        trim_whitespace=False,
        validators=[validate_search_query],
    )


class DocumentSerializer(serializers.ModelSerializer):
    notebook_id = serializers.UUIDField(read_only=True)
    metadata = serializers.DictField(read_only=True)

    class Meta:
        model = Document
        fields = ["id", "notebook_id", "name", "mime_type", "size_bytes", "metadata", "created_at"]
        read_only_fields = fields


class DocumentCreateSerializer(serializers.Serializer):
    """A multipart ``file`` (its name and type by default), or JSON ``name`` and ``content``."""

    file = serializers.FileField(required=False, allow_empty_file=True, use_url=False)
    name = serializers.CharField(required=False, max_length=_max_length(Document, "name"))
    content = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    mime_type = serializers.CharField(required=False, max_length=_max_length(Document, "mime_type"))
    # Checked here too: the model field's own JSON encoding recurses before its validators run.
    metadata = serializers.DictField(required=False, validators=[validate_metadata])

    def validate(self, attrs: dict) -> dict:
        has_file, has_content = "file" in attrs, "content" in attrs
        if has_file == has_content:
            raise serializers.ValidationError({"detail": "Send either a multipart file or a JSON content."})
        if has_content and "name" not in attrs:
            raise serializers.ValidationError({"name": ["This field is required with content."]})
        return attrs


class DocumentUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=_max_length(Document, "name"))
    # Checked here too: the model field's own JSON encoding recurses before its validators run.
    metadata = serializers.DictField(required=False, validators=[validate_metadata])


class AgentSerializer(serializers.ModelSerializer):
    space_id = serializers.UUIDField(read_only=True)
    notebook_ids = serializers.SerializerMethodField()
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Agent
        fields = [
            "id",
            "space_id",
            "name",
            "description",
            "type",
            "model",
            "temperature",
            "max_tokens",
            "system_prompt",
            "notebook_ids",
            "tags",
            "created_at",
        ]
        read_only_fields = fields

    def get_notebook_ids(self, agent: Agent) -> list[str]:
        # From the prefetched knowledge notebooks: no query per agent.
        return sorted(str(notebook.pk) for notebook in agent.knowledge_notebooks.all())


class AgentInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=_max_length(Agent, "name"))
    description = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=DESCRIPTION_MAX_LENGTH
    )
    type = serializers.ChoiceField(choices=Agent.Type.choices, required=False)
    model = serializers.CharField(required=False, max_length=_max_length(Agent, "model"))
    temperature = serializers.FloatField(required=False, min_value=0.0, max_value=2.0)
    max_tokens = serializers.IntegerField(required=False, min_value=1, max_value=128_000)
    system_prompt = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=SYSTEM_PROMPT_MAX_LENGTH
    )
    tags = TagsField(required=False)
    notebook_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=100)
