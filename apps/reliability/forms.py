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


class CriterionMappingForm(forms.Form):
    """Which AAI class each category of a classification stands for (blank: not compared)."""

    def __init__(self, *args, categories: list[tuple[str, str]], current: dict, **kwargs):
        super().__init__(*args, **kwargs)
        from apps.transcripts.models import AAIClass

        choices = [("", "not compared"), *AAIClass.choices]
        for code, name in categories:
            self.fields[f"aai_{code}"] = forms.ChoiceField(
                label=name, choices=choices, required=False, initial=current.get(code, "")
            )
        self.codes = [code for code, _ in categories]

    def mapping(self) -> dict[str, str]:
        return {
            code: self.cleaned_data[f"aai_{code}"]
            for code in self.codes
            if self.cleaned_data.get(f"aai_{code}")
        }


def _session_numbers(text: str) -> list[int]:
    """ "1-5, 8" -> [1, 2, 3, 4, 5, 8]; ValidationError naming what is wrong."""
    numbers: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, _, high = part.partition("-")
        try:
            a = int(low)
            b = int(high) if high else a
        except ValueError:
            raise forms.ValidationError(
                f"“{part}” is not a session number or a range such as 1-5."
            ) from None
        if not 1 <= a <= b <= 10_000:
            raise forms.ValidationError(f"“{part}”: numbers from 1 to 10,000, low to high.")
        numbers.update(range(a, b + 1))
    return sorted(numbers)


class ReportFilterForm(forms.Form):
    """Which sessions and codings new reports read; stored with each report it starts."""

    date_from = forms.DateField(
        required=False, label="Sessions from", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="Sessions to", widget=forms.DateInput(attrs={"type": "date"})
    )
    sites = forms.MultipleChoiceField(required=False, label="Sites")
    therapists = forms.MultipleChoiceField(required=False, label="Therapists")
    session_numbers = forms.CharField(
        required=False, max_length=200, label="Session numbers", help_text="For example 1-5, 8"
    )
    coders = forms.MultipleChoiceField(required=False, label="Coders")
    purpose = forms.ChoiceField(
        label="Codings",
        choices=[
            ("independent", "Independent codings (blind, submitted)"),
            ("training", "Trainees' training codings (reliability only)"),
            ("consensus", "Consensus codings (agreement with the AAI and PSQ only)"),
        ],
        initial="independent",
    )

    def __init__(self, *args, sites, therapists, coders, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sites"].choices = [(s, s) for s in sites]
        self.fields["therapists"].choices = [(t, t) for t in therapists]
        self.fields["coders"].choices = [(str(pk), name) for pk, name in coders]

    def clean_session_numbers(self) -> list[int]:
        return _session_numbers(self.cleaned_data.get("session_numbers") or "")

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def report_filter(self) -> dict:
        """The filter as the report services take it (empty fields left out)."""
        d = self.cleaned_data
        out: dict = {"purpose": d["purpose"]}
        if d.get("date_from"):
            out["date_from"] = d["date_from"].isoformat()
        if d.get("date_to"):
            out["date_to"] = d["date_to"].isoformat()
        for key in ("sites", "therapists"):
            if d.get(key):
                out[key] = list(d[key])
        if d.get("session_numbers"):
            out["session_numbers"] = d["session_numbers"]
        if d.get("coders"):
            out["coders"] = [int(c) for c in d["coders"]]
        return out


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
