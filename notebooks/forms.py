"""Forms of the notebook, document and agent pages.

They only shape input; the services validate it (the same rules as the API) and their
``ValidationError``s are put back on the matching fields with ``add_service_errors``.
"""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

from notebooks.models import Notebook
from notebooks.validators import DESCRIPTION_MAX_LENGTH


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ``ValidationError`` next to the form's fields, the rest above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def parse_tags(text: str) -> list[str]:
    """``"a, b, a"`` -> ``["a", "b"]``: comma-separated, trimmed, first occurrence kept."""
    tags: list[str] = []
    for tag in (part.strip() for part in text.split(",")):
        if tag and tag not in tags:
            tags.append(tag)
    return tags


class NotebookForm(forms.Form):
    name = forms.CharField(max_length=200, strip=True)
    description = forms.CharField(
        required=False, max_length=DESCRIPTION_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )
    tags = forms.CharField(
        required=False,
        help_text="Separate tags with commas, e.g. research, drafts.",
    )
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
        max_length=255, required=False, help_text="Leave empty to use the file's name.", strip=True
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # The limit is a setting, read when the form is made rather than when the module is imported.
        limit = filesizeformat(settings.DOCUMENT_MAX_BYTES)
        self.fields["file"].help_text = f"Plain text, Markdown, CSV, HTML, JSON or XML, up to {limit}."
