"""Template tags for project pages."""

from django import template

from apps.projects.access import REPORT_READERS
from apps.projects.models import Membership

register = template.Library()


@register.simple_tag(takes_context=True)
def reads_reports(context, project) -> bool:
    """Whether the current user may open the project's reliability reports (menu links)."""
    user = context["request"].user
    role = (
        Membership.objects.filter(project=project, user_id=user.pk)
        .values_list("role", flat=True)
        .first()
    )
    return role in REPORT_READERS
