"""Forms of the project pages, and how a refused form is told on the page it came from."""

from __future__ import annotations

from django import forms

from apps.projects.models import Role


def form_errors_text(form: forms.Form) -> str:
    """One sentence naming each refused field: for the message shown after a redirect."""
    parts = []
    for name, errors in form.errors.items():
        text = " ".join(errors)
        if name == forms.forms.NON_FIELD_ERRORS or name not in form.fields:
            parts.append(text)
        else:
            parts.append(
                f"{form.fields[name].label or name.replace('_', ' ').capitalize()}: {text}"
            )
    return " ".join(parts)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class MethodsDetailsForm(forms.Form):
    coder_training = forms.CharField(
        required=False,
        label="How the coders were trained",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            'As it should read in a paper, e.g. "Coders were trained on 10 gold-standard '
            'sessions with feedback until they reached κ ≥ .70 against the gold standard."'
        ),
    )
    double_coding_selection = forms.CharField(
        required=False,
        label="How the double-coded sessions were chosen",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            'E.g. "A random 20% of sessions, stratified by site, was assigned to a second '
            'coder before coding began."'
        ),
    )
