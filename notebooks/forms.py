"""Forms of the notebook, document, agent and search pages.

They only shape input; the services validate it (the same rules as the API) and their
``ValidationError``s are put back on the matching fields with ``aether.forms.add_service_errors``.
"""

from collections.abc import Iterable

from django import forms
from django.conf import settings

from notebooks.models import Agent, Document, Notebook
from notebooks.sizes import size_text
from notebooks.validators import (
    DESCRIPTION_MAX_LENGTH,
    SYSTEM_PROMPT_MAX_LENGTH,
    validate_search_query,
)

TAGS_HELP = "Separate tags with commas, e.g. research, drafts. Tags differing only in case count as one."


def parse_tags(text: str) -> list[str]:
    """``"a, b,, c "`` -> ``["a", "b", "c"]``: comma-separated and trimmed. Repeats are kept, so the
    service's rule (no repeats, ignoring case) can say which tags clash."""
    return [tag for tag in (part.strip() for part in text.split(",")) if tag]


def _model_max_length(model: type, field: str) -> int:
    return model._meta.get_field(field).max_length


class NotebookForm(forms.Form):
    name = forms.CharField(
        max_length=_model_max_length(Notebook, "name"),
        strip=True,
        help_text="Unique in this space, ignoring case.",
    )
    description = forms.CharField(
        required=False, max_length=DESCRIPTION_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )
    tags = forms.CharField(required=False, help_text=TAGS_HELP)
    visibility = forms.ChoiceField(choices=Notebook.Visibility.choices, initial=Notebook.Visibility.PRIVATE)

    @classmethod
    def for_notebook(cls, notebook: Notebook, **kwargs: object) -> "NotebookForm":
        initial = {
            "name": notebook.name,
            "description": notebook.description,
            "tags": ", ".join(notebook.tags),
            "visibility": notebook.visibility,
        }
        return cls(initial=initial, **kwargs)

    def clean_tags(self) -> list[str]:
        return parse_tags(self.cleaned_data["tags"])


class DocumentUploadForm(forms.Form):
    file = forms.FileField(
        label="Text file",
        widget=forms.ClearableFileInput(attrs={"accept": ".txt,.md,.markdown,.csv,.html,.json,.xml,text/*"}),
    )
    name = forms.CharField(
        max_length=_model_max_length(Document, "name"),
        required=False,
        help_text="Leave empty to use the file's name.",
        strip=True,
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # The limit is a setting, read when the form is made rather than when the module is imported.
        limit = size_text(settings.DOCUMENT_MAX_BYTES)
        self.fields["file"].help_text = f"Plain text, Markdown, CSV, HTML, JSON or XML, up to {limit}."

    @classmethod
    def refused(cls, message: str) -> "DocumentUploadForm":
        """An empty form with ``message`` on its file field: for an upload refused before it was read."""
        form = cls()
        form.cleaned_data = {}
        form.add_error("file", message)
        return form


class DocumentRenameForm(forms.Form):
    name = forms.CharField(
        max_length=_model_max_length(Document, "name"),
        strip=True,
        help_text="Only the name changes: the text stays as it is.",
    )


class AgentForm(forms.Form):
    """An agent's stored configuration; ``notebooks`` are the space's, offered as its knowledge."""

    name = forms.CharField(max_length=_model_max_length(Agent, "name"), strip=True)
    description = forms.CharField(
        required=False, max_length=DESCRIPTION_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )
    type = forms.ChoiceField(choices=Agent.Type.choices, initial=Agent.Type.QA)
    model = forms.CharField(
        max_length=_model_max_length(Agent, "model"),
        initial="gpt-4",
        help_text="The model this configuration names, e.g. gpt-4. Aether stores it and calls no model.",
    )
    temperature = forms.FloatField(
        min_value=0.0,
        max_value=2.0,
        initial=0.7,
        help_text="From 0 to 2.",
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )
    max_tokens = forms.IntegerField(
        label="Max tokens", min_value=1, max_value=128_000, initial=2000, help_text="From 1 to 128,000."
    )
    system_prompt = forms.CharField(
        required=False, max_length=SYSTEM_PROMPT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4})
    )
    tags = forms.CharField(required=False, help_text=TAGS_HELP)
    notebook_ids = forms.MultipleChoiceField(
        label="Knowledge notebooks",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "A chosen notebook is no longer in this space; choose again."},
    )

    def __init__(self, *args: object, notebooks: Iterable[Notebook], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        choices = [(str(notebook.pk), notebook.name) for notebook in notebooks]
        self.fields["notebook_ids"].choices = choices
        if not choices:
            self.fields["notebook_ids"].help_text = "This space has no notebooks yet."

    @classmethod
    def for_agent(cls, agent: Agent, **kwargs: object) -> "AgentForm":
        initial = {name: getattr(agent, name) for name in ("name", "description", "type", "model")}
        initial |= {
            "temperature": agent.temperature,
            "max_tokens": agent.max_tokens,
            "system_prompt": agent.system_prompt,
            "tags": ", ".join(agent.tags),
            "notebook_ids": [str(notebook.pk) for notebook in agent.knowledge_notebooks.all()],
        }
        return cls(initial=initial, **kwargs)

    def clean_tags(self) -> list[str]:
        return parse_tags(self.cleaned_data["tags"])


class NotebookSearchForm(forms.Form):
    # Its length, like the rest, is validate_search_query's to check: one message, the API's.
    query = forms.CharField(
        label="Search notebooks",
        strip=False,
        validators=[validate_search_query],
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, description or tag"}),
        error_messages={"required": "Type something to search for."},
    )
