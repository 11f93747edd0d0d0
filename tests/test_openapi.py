"""The generated OpenAPI schema and the offline API docs page."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, get_resolver
from drf_spectacular.validation import validate_schema

OPENAPI_JSON = "application/vnd.oai.openapi+json"


@pytest.fixture
def schema(client_for, db) -> dict:
    response = client_for(None).get("/api/schema/", HTTP_ACCEPT=OPENAPI_JSON)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(OPENAPI_JSON)
    return response.json()


def api_paths() -> set[str]:
    """Every API route as an OpenAPI path: /api/projects/{project_id}/..."""
    paths = set()
    for pattern in get_resolver("coding_platform.api_urls").url_patterns:
        assert isinstance(pattern, URLPattern)
        route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        paths.add(f"/api/{route}")
    return paths


def test_the_schema_is_valid_openapi(schema):
    validate_schema(schema)

    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Coding platform API"


def test_the_schema_documents_every_api_route(schema):
    assert api_paths() - set(schema["paths"]) == set()
    for path in (
        "/api/projects/",
        "/api/projects/{project_id}/transcripts/import/",
        "/api/assignments/{assignment_id}/coding/",
        "/api/assignments/{assignment_id}/markers/",
        "/api/sessions/{session_id}/recording/",
    ):
        assert path in schema["paths"]


def test_the_business_actions_are_posts_in_the_schema(schema):
    paths = schema["paths"]

    assert "post" in paths["/api/assignments/{assignment_id}/submit/"]
    assert "post" in paths["/api/projects/{project_id}/releases/"]
    assert "put" in paths["/api/assignments/{assignment_id}/ratings/"]
    assert (
        "multipart/form-data"
        in (
            paths["/api/projects/{project_id}/transcripts/import/"]["post"]["requestBody"][
                "content"
            ]
        )
    )


def test_the_docs_page_loads_nothing_from_a_cdn(client_for, db):
    response = client_for(None).get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assert not re.search(r"https?://[^\s\"']*cdn", html, re.IGNORECASE)
    assert not re.search(r"unpkg|jsdelivr|cdnjs", html, re.IGNORECASE)
    scripts = re.findall(r"<script[^>]+src=\"([^\"]+)\"", html)
    assert scripts
    # Swagger UI from the installed package; its start-up script from the docs URL itself
    # (a file, not inline, so the Content-Security-Policy holds); no inline script or style.
    *libraries, start_up = scripts
    assert libraries and all(src.startswith("/static/") for src in libraries), scripts
    assert start_up == "/api/docs/?script="
    assert "<script>" not in html and "<style" not in html
    script = client_for(None).get(start_up)
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


def test_the_docs_page_assets_are_served_by_the_platform(client_for, db):
    html = client_for(None).get("/api/docs/").content.decode()
    script = re.findall(r"<script[^>]+src=\"([^\"]+)\"", html)[0]

    response = client_for(None).get(script)

    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    response.close()
    assert len(body) > 1000
