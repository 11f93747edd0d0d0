"""Forms of the account pages."""

from django import forms


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        required=False,
        label="Name",
        help_text="What the token is for, e.g. 'import script on the lab server'.",
    )
