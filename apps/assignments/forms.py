"""Forms of the coordinator's actions on the project page: assign, release, import codings."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from apps.assignments.models import Purpose
from apps.codebooks.models import CodingSystem


class ProjectActionForm(forms.Form):
    """A transcript (checked by the gatekeeper) and a coding system of the project."""

    transcript = forms.IntegerField(
        min_value=1, error_messages={"required": "Choose a transcript."}
    )
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


class AssignmentCreateForm(ProjectActionForm):
    coder = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(),
        error_messages={
            "required": "Choose a coder.",
            "invalid_choice": "Choose a coder.",
        },
    )
    purpose = forms.ChoiceField(choices=Purpose.choices, required=False)
    due_date = forms.DateField(required=False)

    def __init__(self, *args, project_id: int, **kwargs):
        super().__init__(*args, project_id=project_id, **kwargs)
        # Any account: assignment_create says so when the coder is not a member.
        self.fields["coder"].queryset = get_user_model().objects.all()

    def clean_purpose(self) -> str:
        return self.cleaned_data["purpose"] or Purpose.INDEPENDENT


class CodingsImportForm(forms.Form):
    file = forms.FileField(error_messages={"required": "Choose a codings CSV file."})
