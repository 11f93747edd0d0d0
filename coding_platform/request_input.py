"""Guards on raw request input: no NUL characters anywhere, JSON bodies of bounded depth.

PostgreSQL refuses NUL (\\x00) in text, so a NUL that reaches a query or a saved row turns
into a server error. Serializer and form CharFields already refuse it; this guard covers
everything else a request carries (the path, query parameters, headers and every string of
a JSON body, keys included) before any view reads it, whichever parser the view uses.

Python's JSON decoder recurses once per nesting level and raises RecursionError (a server
error) past about a thousand levels. JSON bodies are parsed here once with that error
caught and their depth limited to MAX_JSON_DEPTH; the platform's payloads are a few levels
deep.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from rest_framework import parsers
from rest_framework.exceptions import ValidationError

MAX_JSON_DEPTH = 32
NUL = "\x00"
NUL_MESSAGE = "Null characters are not allowed."


class InputRejected(ValueError):
    """A request input the platform refuses; `field` names it for the caller."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def loads_bounded(text: str | bytes, *, field: str) -> Any:
    """Parse JSON text, refusing nesting beyond MAX_JSON_DEPTH and NUL in any string.

    Raises json.JSONDecodeError (or UnicodeDecodeError) for text that is not JSON, and
    InputRejected naming the field (a dotted path below `field`) for the rest.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise InputRejected(field, f"JSON nested more than {MAX_JSON_DEPTH} levels.") from None
    check_json_value(value, field=field)
    return value


def check_json_value(value: Any, *, field: str) -> None:
    """Raise InputRejected for a NUL in any string or key, or nesting past MAX_JSON_DEPTH."""
    # Iterative on purpose: the value may be as deep as the decoder allowed.
    # depth counts the arrays and objects around a value: 1 for the body's own.
    stack: list[tuple[Any, str, int]] = [(value, field, 1)]
    while stack:
        current, path, depth = stack.pop()
        if isinstance(current, dict | list) and depth > MAX_JSON_DEPTH:
            raise InputRejected(field, f"JSON nested more than {MAX_JSON_DEPTH} levels.")
        if isinstance(current, str):
            if NUL in current:
                raise InputRejected(path, NUL_MESSAGE)
        elif isinstance(current, dict):
            for key, item in current.items():
                child = f"{path}.{key}" if path else key
                if NUL in key:
                    raise InputRejected(path or "body", NUL_MESSAGE)
                stack.append((item, child, depth + 1))
        elif isinstance(current, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(current))


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _header_values(request: HttpRequest) -> Iterator[tuple[str, str]]:
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            yield key[5:].replace("_", "-").title(), value


def check_request(request: HttpRequest) -> None:
    """Raise InputRejected for NUL in the path, query, headers or a JSON body, or deep JSON."""
    if NUL in request.path:
        raise InputRejected("path", NUL_MESSAGE)
    for name, values in request.GET.lists():
        if NUL in name:
            raise InputRejected("query", NUL_MESSAGE)
        if any(NUL in value for value in values):
            raise InputRejected(name, NUL_MESSAGE)
    for name, value in _header_values(request):
        if NUL in value:
            raise InputRejected(name, NUL_MESSAGE)
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and _is_json(
        request.META.get("CONTENT_TYPE", "")
    ):
        try:
            loads_bounded(request.body, field="")
        except (json.JSONDecodeError, UnicodeDecodeError):
            # Not JSON at all: the view's parser answers that with its own 400.
            return


class RequestInputGuardMiddleware:
    """Answer 400 before any view runs when check_request refuses the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            check_request(request)
        except InputRejected as refusal:
            return _bad_request(request, refusal)
        return self.get_response(request)


def _bad_request(request: HttpRequest, refusal: InputRejected) -> HttpResponse:
    field = refusal.field or "body"
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "error": {
                    "code": "invalid",
                    "message": f"{field}: {refusal.message}",
                    "details": {field: [refusal.message]},
                }
            },
            status=400,
        )
    return HttpResponseBadRequest(f"{field}: {refusal.message}", content_type="text/plain")


def _check_form_fields(data) -> None:
    for name, values in data.lists():
        if NUL in name:
            raise ValidationError({"body": [NUL_MESSAGE]})
        if any(isinstance(value, str) and NUL in value for value in values):
            raise ValidationError({name: [NUL_MESSAGE]})


class FormParser(parsers.FormParser):
    """DRF's form parser, refusing NUL in any field name or value with a 400 naming it."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _check_form_fields(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, refusing NUL in any form field with a 400 naming it."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        _check_form_fields(parsed.data)
        return parsed


# JSON bodies are checked by the middleware before any parser runs.
FORM_PARSERS = [MultiPartParser, FormParser]
API_PARSERS = [parsers.JSONParser, FormParser, MultiPartParser]
