"""A database connection dropped between two requests (restart, failover, idle timeout) is
replaced by the next request instead of failing it: CONN_HEALTH_CHECKS.

Meaningful on PostgreSQL, where connections persist between requests (CONN_MAX_AGE): the
test drops the web process's connection with pg_terminate_backend from a second connection
and sends the next request through Django's real WSGI handler (the test client does not run
the request-start connection checks). On SQLite, which has no server to drop a connection,
it checks the setting that makes the difference.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.test import Client, RequestFactory

from tests.factories import UserFactory


def wsgi_get(path: str, cookie: str) -> int:
    """GET `path` through the WSGI handler, as gunicorn would; returns the status code."""
    environ = RequestFactory()._base_environ(
        PATH_INFO=path, REQUEST_METHOD="GET", HTTP_COOKIE=cookie
    )
    statuses = []
    response = WSGIHandler()(environ, lambda status, headers: statuses.append(status))
    b"".join(response)
    response.close()  # sends request_finished, like a real server
    return int(statuses[0].split()[0])


def drop_the_web_connection() -> None:
    """Terminate this process's database connection from another connection."""
    pid = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone() == (True,)
    finally:
        other.close()


def with_health_checks(enabled: bool) -> None:
    connection.close()
    connection.settings_dict["CONN_HEALTH_CHECKS"] = enabled
    connection.settings_dict["CONN_MAX_AGE"] = 60


@pytest.mark.django_db(transaction=True)
def test_a_dropped_database_connection_does_not_fail_the_next_request():
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    if connection.vendor != "postgresql":
        return  # nothing to drop: the setting above is what counts on PostgreSQL

    browser = Client()
    browser.force_login(UserFactory(email="coder@example.org"))
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    saved = dict(connection.settings_dict)
    try:
        # Without health checks the request after the drop fails: what the setting prevents.
        with_health_checks(False)
        assert wsgi_get("/", cookie) == 200
        drop_the_web_connection()
        assert wsgi_get("/", cookie) == 500

        with_health_checks(True)
        assert wsgi_get("/", cookie) == 200
        drop_the_web_connection()
        assert wsgi_get("/", cookie) == 200
        assert wsgi_get("/", cookie) == 200
    finally:
        connection.close()
        connection.settings_dict.update(saved)
