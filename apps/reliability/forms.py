"""Forms: start a report for one of the project's coding systems; a coding system's drift check."""

from __future__ import annotations

from django import forms

from apps.codebooks.models import CodingSystem
from apps.reliability.drift_services import WINDOW_LIMITS
from apps.reliability.models import DriftAgainst, DriftWindow


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


class DriftSettingsForm(forms.Form):
    """The drift check of one coding system: threshold, recent window and what to compare."""

    enabled = forms.BooleanField(
        required=False, initial=True, label="Check this coding system every day"
    )
    threshold = forms.FloatField(
        min_value=-1,
        max_value=1,
        initial=0.6,
        label="Alert when Cohen's kappa falls below",
        error_messages={
            "required": "Enter a threshold (a kappa, -1 to 1).",
            "invalid": "The threshold must be a number (a kappa, -1 to 1).",
            "min_value": "The threshold must be at least -1.",
            "max_value": "The threshold must be at most 1.",
        },
    )
    window_kind = forms.ChoiceField(
        choices=DriftWindow.choices, initial=DriftWindow.SESSIONS, label="Recent window in"
    )
    window_size = forms.IntegerField(
        min_value=1,
        initial=10,
        label="Window size",
        error_messages={
            "required": "Enter the window size.",
            "invalid": "The window size must be a whole number.",
            "min_value": "The window must hold at least 1 session or day.",
        },
    )
    against = forms.ChoiceField(
        choices=DriftAgainst.choices,
        initial=DriftAgainst.OTHERS,
        required=False,
        label="Compare each coder with",
    )

    def clean_against(self) -> str:
        return self.cleaned_data.get("against") or DriftAgainst.OTHERS

    def clean(self):
        cleaned = super().clean()
        kind, size = cleaned.get("window_kind"), cleaned.get("window_size")
        if kind and size is not None:
            limit = WINDOW_LIMITS[DriftWindow(kind)]
            if size > limit:
                self.add_error(
                    "window_size", f"The window can be at most {limit} {DriftWindow(kind).label}."
                )
        return cleaned
