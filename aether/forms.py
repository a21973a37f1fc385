"""Forms of the pages every app shares: the header's space switcher."""

from django import forms


class SpaceSwitchForm(forms.Form):
    space = forms.UUIDField(label="Space")
