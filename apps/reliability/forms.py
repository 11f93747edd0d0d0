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
