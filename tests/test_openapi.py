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


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


ERROR_REF = "#/components/schemas/Error"


def error_ref(operation, status: str) -> str | None:
    response = operation["responses"].get(status)
    if response is None:
        return None
    return response["content"]["application/json"]["schema"]["$ref"]


def test_every_operation_documents_400_and_500_with_the_error_shape(schema):
    for path, method, operation in operations(schema):
        for status in ("400", "500"):
            assert error_ref(operation, status) == ERROR_REF, (method, path, status)
    error = schema["components"]["schemas"]["ErrorDetail"]
    assert set(error["properties"]) == {"code", "message", "details"}


def test_operations_on_an_object_document_404_and_members_only_ones_403(schema):
    for path, method, operation in operations(schema):
        if "{" in path:
            assert error_ref(operation, "404") == ERROR_REF, (method, path)
        if path != "/api/auth/token/":
            assert error_ref(operation, "403") == ERROR_REF, (method, path)
    login = schema["paths"]["/api/auth/token/"]["post"]["responses"]
    assert "403" not in login and "409" not in login


def test_writes_document_409_conflict_and_reads_do_not(schema):
    for path, method, operation in operations(schema):
        if path == "/api/auth/token/":
            continue
        documented = error_ref(operation, "409") == ERROR_REF
        assert documented == (method in {"post", "put", "patch", "delete"}), (method, path)


@pytest.mark.parametrize(
    "path",
    [
        "/api/me/assignments/",
        "/api/assignments/{assignment_id}/history/",
        "/api/projects/",
        "/api/projects/{project_id}/assignments/",
    ],
)
def test_endpoints_that_answer_lists_are_documented_as_arrays(schema, path):
    content = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]

    assert content["schema"]["type"] == "array"


def test_business_actions_document_the_status_they_answer(schema):
    paths = schema["paths"]

    assert "200" in paths["/api/assignments/{assignment_id}/submit/"]["post"]["responses"]
    assert "201" not in paths["/api/assignments/{assignment_id}/submit/"]["post"]["responses"]
    assert "200" in paths["/api/assignments/{assignment_id}/reopen/"]["post"]["responses"]
    released = paths["/api/projects/{project_id}/releases/"]["post"]["responses"]["200"]
    assert released["content"]["application/json"]["schema"]["$ref"].endswith("/Released")


def test_ids_in_paths_are_bounded_integers(schema):
    parameter = next(
        p
        for p in schema["paths"]["/api/sessions/{session_id}/"]["get"]["parameters"]
        if p["name"] == "session_id"
    )

    assert parameter["schema"] == {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}
