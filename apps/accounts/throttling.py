"""django-axes hooks: who is trying to log in, from where, and the answer once locked out.

A log-in (the login page or the API token endpoint) is refused for a while after
settings.AXES_FAILURE_LIMIT failures for one account, from any address, or from one address,
for any account; a successful log-in clears the count.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def login_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The account a log-in is for: the email address, compared case-insensitively."""
    source = credentials if credentials else request.POST
    raw = source.get(settings.AXES_USERNAME_FORM_FIELD) or ""
    return raw.strip().lower() or None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT reverse proxies in
    front, the address the outermost trusted proxy saw (counted from the right of
    X-Forwarded-For, since a client can put anything on its left)."""
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR")


def lockout_message() -> str:
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    return (
        "Too many failed log-in attempts for this account or from this address. "
        f"Log-in is blocked for {minutes} minutes; try again later or reset your password."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """429: the API's error shape for /api/, the login page with the message otherwise."""
    message = lockout_message()
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"error": {"code": "locked_out", "message": message, "details": None}}, status=429
        )
    else:
        context = {"lockout_message": message, "next": request.POST.get("next", "")}
        response = render(request, "accounts/login.html", context, status=429)
    response["Retry-After"] = retry_after
    return response
