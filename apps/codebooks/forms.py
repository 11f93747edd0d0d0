"""Forms of the coding-system actions on the project page: import a file, install a shipped one."""

from __future__ import annotations

from django import forms

from apps.codebooks.services import SHIPPED_FILES


class CodebookImportForm(forms.Form):
    file = forms.FileField(error_messages={"required": "Choose a codebook file to import."})


class CodebookInstallForm(forms.Form):
    key = forms.ChoiceField(
        choices=[(key, key) for key in SHIPPED_FILES],
        error_messages={
            "required": "Choose a shipped coding system.",
            "invalid_choice": "No shipped coding system called %(value)s.",
        },
    )
