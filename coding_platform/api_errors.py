"""One JSON shape for every API error: {"error": {"code", "message", "details"}}.

`exception_handler` shapes what DRF views raise; the `handlerNNN` views in
coding_platform/urls.py give the same shape to errors Django answers itself under /api/
(an unknown route, a request refused before any view, an unhandled exception: the 500).
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.projects.errors import DomainError

SERVER_ERROR_MESSAGE = "Something went wrong on our side; the error has been logged."


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def exception_handler(exc, context):
    """Turn domain, Django and DRF errors into the platform's single error shape.

    Anything else (a bug) is left to Django, which logs it with its traceback and answers
    with `server_error` below: still this shape, status 500.
    """
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        code, message, details = "invalid", "The request has invalid fields.", response.data
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        code = getattr(getattr(exc, "detail", None), "code", None) or exc.default_code
        message, details = str(detail) or str(exc), None
    if response.status_code == status.HTTP_404_NOT_FOUND:
        code, message = "not_found", "Not found."
    response.data = error_body(code, message, details)
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("invalid", "The request could not be read."), status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            error_body("forbidden", "You do not have permission to do this."), status=403
        )
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("server_error", SERVER_ERROR_MESSAGE), status=500)
    return defaults.server_error(request)
