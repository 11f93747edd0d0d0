"""Every API error is the one JSON error shape, whoever answers it: DRF, Django or a bug (500).

The views below fail on purpose: an API view and a page with a bug in them, mounted next to
the platform's own routes with the platform's handlers.
"""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

# Re-exported so that this URLconf answers errors with the platform's handlers.
from coding_platform.urls import handler400, handler403, handler404, handler500  # noqa: F401
from coding_platform.urls import urlpatterns as platform_urlpatterns


class BrokenApiView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise LookupError("a bug in an API view")


def broken_page(request) -> HttpResponse:
    raise LookupError("a bug in a page")


urlpatterns = [
    path("api/broken/", BrokenApiView.as_view()),
    path("broken/", broken_page),
    *platform_urlpatterns,
]

pytestmark = pytest.mark.urls(__name__)


def error_of(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_a_bug_in_an_api_view_is_a_500_in_the_error_shape_and_is_logged(db, caplog):
    response = Client(raise_request_exception=False).get("/api/broken/")

    error = error_of(response, 500)
    assert error["code"] == "server_error"
    assert "a bug" not in error["message"]  # the exception's text stays in the log
    assert "LookupError: a bug in an API view" in caplog.text


def test_a_bug_in_a_page_is_still_an_html_500(db):
    response = Client(raise_request_exception=False).get("/broken/")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_an_unknown_api_route_is_a_404_in_the_error_shape(db):
    error = error_of(Client().get("/api/no-such-thing/"), 404)

    assert error["code"] == "not_found"


def test_an_unknown_page_is_still_the_html_404_page(db):
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_method_the_endpoint_does_not_have_is_a_405_in_the_error_shape(client_for, lead):
    response = client_for(lead).put("/api/projects/", {}, format="json")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_request_too_large_to_read_is_a_400_in_the_error_shape(db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = Client().post("/api/auth/token/", "x" * 1000, content_type="application/json")

    assert error_of(response, 400)["code"] == "invalid"
