"""Turn gatekeeper refusals raised in HTML views into 404 and 403 pages."""

from django.http import Http404
from django.shortcuts import render

from apps.projects.errors import ForbiddenError, NotFoundError


class DomainErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if request.path.startswith("/api/"):
            return None
        if isinstance(exception, NotFoundError):
            raise Http404(exception.message)
        if isinstance(exception, ForbiddenError):
            return render(request, "403.html", {"message": exception.message}, status=403)
        return None
