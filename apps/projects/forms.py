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
