"""Root URLs: pages per app, the API under /api/, the admin under /admin/."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file, as the CSP requires.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs.html"),
        name="api-docs",
    ),
    path("api/", include("coding_platform.api_urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("", include("apps.projects.urls")),
    path("", include("apps.codebooks.urls")),
    path("", include("apps.transcripts.urls")),
    path("", include("apps.assignments.urls")),
    path("", include("apps.annotations.urls")),
    path("", include("apps.reliability.urls")),
]

# Under /api/ these answer with the API's JSON error shape; elsewhere with Django's pages.
handler400 = "coding_platform.api_errors.bad_request"
handler403 = "coding_platform.api_errors.permission_denied"
handler404 = "coding_platform.api_errors.page_not_found"
handler500 = "coding_platform.api_errors.server_error"
