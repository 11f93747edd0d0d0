"""Form of the reliability page: start a report for one of the project's coding systems."""

from __future__ import annotations

from django import forms

from apps.codebooks.models import CodingSystem


class ReportStartForm(forms.Form):
    coding_system = forms.ModelChoiceField(
        queryset=CodingSystem.objects.none(),
        error_messages={
            "required": "Choose a coding system.",
            "invalid_choice": "Choose one of this project's coding systems.",
        },
    )

    def __init__(self, *args, project_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["coding_system"].queryset = CodingSystem.objects.filter(project_id=project_id)
