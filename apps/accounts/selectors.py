"""Reads of people: how the platform names them."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model


def display_names(user_ids: Iterable[int]) -> dict[int, str]:
    """{user id: full name, else email} for these users, in one query (unknown ids absent)."""
    return {
        pk: full_name or email
        for pk, full_name, email in get_user_model()
        .objects.filter(pk__in=[int(i) for i in user_ids])
        .values_list("pk", "full_name", "email")
    }
