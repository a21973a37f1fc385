"""The forms of the "Publish a new version" page: they turn what was typed into values, nothing more.

Every rule about a blueprint (placeholders, duplicate names, orders and keys, ranges, sizes) lives in
``onboarding.blueprints`` and comes back from ``blueprint_create_version`` as a ``ValidationError``;
``BlueprintPublishing.show_errors`` puts each of its messages on the field or document it names.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseFormSet, fields_for_model, formset_factory
from django.http import QueryDict

from onboarding.blueprints import BLUEPRINT_FIELDS, DOCUMENTS_MAX, blueprint_as_input
from onboarding.models import Blueprint

DOCUMENTS_PREFIX = "documents"
# The service's keys for one document's problems: "documents[2]" or "documents[2].order".
_DOCUMENT_KEY = re.compile(r"^documents\[(\d+)\](?:\.(\w+))?$")


class TagsField(forms.CharField):
    """Tags typed as a comma-separated list; the service checks the list."""

    def prepare_value(self, value: object) -> object:
        return ", ".join(str(tag) for tag in value) if isinstance(value, list) else value

    def to_python(self, value: object) -> list[str]:
        text = super().to_python(value)
        return [tag.strip() for tag in text.split(",") if tag.strip()]


class BlueprintVersionForm(forms.Form):
    """The next version's fields, its change note, and the version this edit started from."""

    based_on_version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=0,
        error_messages={
            "required": "This page is incomplete; reload it and make your changes again.",
            "invalid": "This page is damaged; reload it and make your changes again.",
            "min_value": "This page is damaged; reload it and make your changes again.",
        },
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        model_fields = fields_for_model(Blueprint, fields=BLUEPRINT_FIELDS)
        for name in ("notebook_tags", "agent_tags"):
            model_fields[name] = TagsField(
                required=False,
                label=model_fields[name].label,
                help_text="Comma-separated, e.g. welcome, onboarding.",
            )
        for field in model_fields.values():
            # Empty values reach the service, which says what is missing with its own messages.
            field.required = False
        self.fields.update(model_fields)
        self.fields["change_note"] = forms.CharField(
            label="Change note",
            max_length=Blueprint._meta.get_field("change_note").max_length,
            help_text="Why this version exists; kept with it and shown in the list of versions.",
            error_messages={"required": "Say what this version changes and why; the note is kept with it."},
        )

    def blueprint_fields(self) -> dict[str, object]:
        return {name: self.cleaned_data.get(name) for name in BLUEPRINT_FIELDS}


class SampleDocumentForm(forms.Form):
    key = forms.CharField(widget=forms.HiddenInput, required=False)
    name = forms.CharField(required=False, max_length=255)
    order = forms.IntegerField(required=False, help_text="Users receive the documents in this order.")
    content = forms.CharField(
        required=False, strip=False, widget=forms.Textarea(attrs={"rows": 10, "cols": 80})
    )

    def is_kept(self) -> bool:
        """Whether this row is part of the next version: an existing document, or a filled-in new one."""
        if self.cleaned_data.get("DELETE"):
            return False
        return bool(self.cleaned_data.get("key")) or self.has_changed()

    def as_input(self) -> dict[str, object]:
        data = {name: self.cleaned_data.get(name) for name in ("key", "name", "content", "order")}
        # A row left without an order keeps its place in the list, as the service does by default.
        return {name: value for name, value in data.items() if value is not None}


class BaseSampleDocumentFormSet(BaseFormSet):
    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields["DELETE"].label = "Leave out of the new version"


SampleDocumentFormSet = formset_factory(
    SampleDocumentForm,
    formset=BaseSampleDocumentFormSet,
    extra=1,
    can_delete=True,
    max_num=DOCUMENTS_MAX,
    validate_max=True,
    absolute_max=DOCUMENTS_MAX + 10,
)


class BlueprintPublishing:
    """The page's two forms, built from a version (a new edit) or from what was posted."""

    def __init__(self, data: object = None, *, start: Blueprint | None = None, based_on: int = 0) -> None:
        self.start = start
        initial: dict[str, object] = {"based_on_version": based_on}
        rows: list[dict[str, object]] = []
        if start is not None:
            fields, documents = blueprint_as_input(start)
            initial.update(fields)
            rows = sorted(documents, key=lambda row: (row["order"], row["name"]))
        self.form = BlueprintVersionForm(data, initial=initial)
        self.documents = SampleDocumentFormSet(data, initial=rows, prefix=DOCUMENTS_PREFIX)
        self.rows: list[SampleDocumentForm] = []

    @classmethod
    def with_another_row(cls, data: QueryDict) -> "BlueprintPublishing":
        """The page again as it was typed, unvalidated, with one more blank document row.

        Nothing is checked or published: the forms are rebuilt from the raw values, so the page
        shows no errors for a note not written yet.
        """
        page = cls()
        form_initial = {name: data.get(name, "") for name in page.form.fields}
        page.form = BlueprintVersionForm(initial=form_initial)
        try:
            total = min(int(data.get(f"{DOCUMENTS_PREFIX}-TOTAL_FORMS", 0)), DOCUMENTS_MAX)
        except ValueError:
            total = 0
        rows = []
        for index in range(max(total, 0)):
            prefix = f"{DOCUMENTS_PREFIX}-{index}-"
            if data.get(f"{prefix}DELETE"):
                continue
            rows.append({name: data.get(f"{prefix}{name}", "") for name in SampleDocumentForm.base_fields})
        page.documents = SampleDocumentFormSet(initial=rows, prefix=DOCUMENTS_PREFIX)
        return page

    def is_valid(self) -> bool:
        valid = self.form.is_valid() & self.documents.is_valid()
        if valid:
            self.rows = [row for row in self.documents.forms if row.is_kept()]
        return valid

    def document_inputs(self) -> list[dict[str, object]]:
        return [row.as_input() for row in self.rows]

    def show_errors(self, error: ValidationError) -> None:
        """Put the service's messages on what they name: a field, a document row, or the page."""
        if not hasattr(error, "error_dict"):
            self.form.add_error(None, error)
            return
        for key, messages in error.message_dict.items():
            match = _DOCUMENT_KEY.match(key)
            if match and int(match.group(1)) < len(self.rows):
                row = self.rows[int(match.group(1))]
                name = match.group(2)
                if name in row.fields and not row.fields[name].widget.is_hidden:
                    row.add_error(name, messages)
                else:
                    # The key is not shown as a field: say which value the message is about.
                    row.add_error(
                        None, [f"{name.capitalize()}: {message}" if name else message for message in messages]
                    )
            elif key in self.form.fields:
                self.form.add_error(key, messages)
            else:
                label = "Sample documents" if key == "documents" else key
                self.form.add_error(None, [f"{label}: {message}" for message in messages])

    @property
    def has_errors(self) -> bool:
        return bool(self.form.errors or self.documents.total_error_count())
