"""The database refuses a second membership of one person and roles that do not exist."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from apps.projects.models import Membership, Role


def test_a_person_is_a_member_of_a_project_once(project, coder_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(project=project, user=coder_a, role=Role.VIEWER)


def test_a_membership_role_must_be_a_known_role(project, outsider):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(project=project, user=outsider, role="admin")

    assert not Membership.objects.filter(user=outsider).exists()
