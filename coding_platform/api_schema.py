"""OpenAPI generation: every operation documents the error responses it can give.

The error statuses follow from the view itself, so a new endpoint is documented without
anyone remembering to: 400 and 500 everywhere, 401/403 where the caller must be logged in,
404 where the path names an object, 409 on a member's writes, 429 where a throttle applies. Each has
the one error shape (`Error`) the exception handler produces.
"""

from __future__ import annotations

import re

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Machine-readable: invalid, not_found, forbidden, conflict, locked, ..."
    )
    message = serializers.CharField(help_text="Safe to show to the user.")
    details = serializers.JSONField(
        allow_null=True,
        help_text="Per-field messages for invalid input, every problem of an import, or null.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
ERROR_DESCRIPTIONS = {
    400: "Invalid input: details names each field (also for NUL characters or JSON nested "
    "too deeply).",
    401: "Not logged in (no valid token).",
    403: "Not logged in, or the caller's role in the project does not allow this action.",
    404: "No such object, or one the caller may not see (the two are not told apart).",
    409: "Conflicts with the current state: a stale base_revision, a locked (submitted) "
    "coding, a duplicate.",
    429: "Too many requests; retry later.",
    500: "Server error (logged on the server).",
}


class PlatformAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        responses = operation.setdefault("responses", {})
        for status in self._error_statuses():
            responses.setdefault(
                str(status),
                {
                    "description": ERROR_DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": error}},
                },
            )
        return operation

    def _error_statuses(self) -> list[int]:
        statuses = [400]
        if not self._is_public():
            if self._first_authenticator_challenges():
                statuses.append(401)
            statuses.append(403)
        if re.search(r"{\w+}", self.path):
            statuses.append(404)
        if self.method in WRITE_METHODS and not self._is_public():
            statuses.append(409)
        # DRF throttles, or django-axes' lockout of repeated failed logins (the token endpoint).
        if self.view.get_throttles() or getattr(self.view, "locks_out_failed_logins", False):
            statuses.append(429)
        statuses.append(500)
        return statuses

    def _is_public(self) -> bool:
        permissions = self.view.get_permissions()
        return all(isinstance(permission, AllowAny) for permission in permissions)

    def _first_authenticator_challenges(self) -> bool:
        # DRF answers 401 only when its first authenticator sends a WWW-Authenticate
        # challenge (token authentication does; session authentication does not: 403).
        authenticators = self.view.get_authenticators()
        return bool(authenticators and authenticators[0].authenticate_header(None))
