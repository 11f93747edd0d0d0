"""Production settings: a real SECRET_KEY, TLS behind the proxy, sessions for shared lab
computers, a Content-Security-Policy the templates can keep, no-store on clinical data."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = ROOT / "coding_platform" / "settings.py"
REAL_KEY = "k7Qm2xV9pR4tZ8wL1nB6cF3hJ5sD0gY-aE_uI9oP2qW4rT6yU8iO1pA3sD5fG7h"


def load_settings(monkeypatch, tmp_path, **env: str) -> dict:
    """Run the settings module afresh with exactly these variables (plus a scratch DATA_DIR)."""
    for name in ("SECRET_KEY", "DEBUG", "SECURE_SSL", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("STATIC_ROOT", str(tmp_path / "static"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (None, "SECRET_KEY is not set"),
        ("", "SECRET_KEY is not set"),
        ("dev-only-insecure-key-set-SECRET_KEY-in-production", "the development key"),
        ("django-insecure-" + "x1y2z3" * 10, "the development key"),
        ("change-me-to-a-long-random-string", "too short"),
        ("a" * 60, "too short"),
    ],
)
def test_without_debug_start_up_stops_without_a_real_secret_key(monkeypatch, tmp_path, key, reason):
    env = {"DEBUG": "false"} if key is None else {"DEBUG": "false", "SECRET_KEY": key}

    with pytest.raises(ImproperlyConfigured) as refused:
        load_settings(monkeypatch, tmp_path, **env)

    assert reason in str(refused.value)
    assert "docs/deploy.md" in str(refused.value)


def test_debug_off_is_the_default_and_also_needs_the_key(monkeypatch, tmp_path):
    with pytest.raises(ImproperlyConfigured):
        load_settings(monkeypatch, tmp_path)


def test_a_real_key_starts(monkeypatch, tmp_path):
    loaded = load_settings(monkeypatch, tmp_path, DEBUG="false", SECRET_KEY=REAL_KEY)

    assert loaded["SECRET_KEY"] == REAL_KEY
    assert loaded["DEBUG"] is False


def test_a_laptop_with_debug_on_may_use_the_development_key(monkeypatch, tmp_path):
    loaded = load_settings(monkeypatch, tmp_path, DEBUG="true")

    assert loaded["SECRET_KEY"] == loaded["DEV_SECRET_KEY"]


def test_behind_the_tls_proxy_cookies_are_secure_and_http_redirects(monkeypatch, tmp_path):
    loaded = load_settings(
        monkeypatch, tmp_path, DEBUG="false", SECRET_KEY=REAL_KEY, SECURE_SSL="true"
    )

    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["CSRF_COOKIE_SECURE"] is True
    assert loaded["SECURE_HSTS_SECONDS"] == 31536000


def test_database_connections_are_health_checked(monkeypatch, tmp_path):
    on_postgres = load_settings(
        monkeypatch,
        tmp_path,
        DEBUG="true",
        DATABASE_URL="postgres://platform:secret@127.0.0.1:5432/platform",
    )
    database = on_postgres["DATABASES"]["default"]

    assert database["CONN_HEALTH_CHECKS"] is True
    assert database["CONN_MAX_AGE"] == 60


# Sessions on shared lab computers -----------------------------------------------------------


def test_a_session_lasts_a_working_day_and_ends_with_the_browser(db):
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    UserFactory(email="lab@example.org")
    client = Client()

    client.post(
        "/accounts/login/", {"username": "lab@example.org", "password": "a-long-test-password"}
    )

    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == "" and cookie["expires"] == ""  # a browser-session cookie
    assert client.session.get_expiry_age() == 8 * 60 * 60


# Content-Security-Policy --------------------------------------------------------------------


def test_pages_send_a_strict_content_security_policy(db):
    response = Client().get("/accounts/login/")

    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in response["Content-Security-Policy"]


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_use_no_inline_script_handler_or_style(template):
    """What the policy would block: inline scripts, on* handlers, style attributes/blocks."""
    html = template.read_text()

    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or "application/json" in tag, tag
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert not re.search(r"\sstyle\s*=", html)
    assert "<style" not in html
    assert "javascript:" not in html


def test_json_script_blocks_are_the_only_inline_scripts_rendered(project, assignment_a, coder_a):
    browser = Client()
    browser.force_login(coder_a)

    html = browser.get(f"/assignments/{assignment_a.pk}/code/").content.decode()

    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag


# No-store on clinical data ------------------------------------------------------------------


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_pages_and_api_answers_that_show_transcript_text_are_no_store(
    project, transcript, assignment_a, coder_a, lead, client_for
):
    browser = Client()
    browser.force_login(lead)
    coder = Client()
    coder.force_login(coder_a)
    api = client_for(lead)
    session = transcript.session_id

    answers = {
        "coding page": coder.get(f"/assignments/{assignment_a.pk}/code/"),
        "session page with its transcript": browser.get(f"/sessions/{session}/"),
        "API transcript": api.get(f"/api/transcripts/{transcript.pk}/"),
        "API coding": client_for(coder_a).get(f"/api/assignments/{assignment_a.pk}/coding/"),
        "project page": browser.get(f"/projects/{project.pk}/"),
        "reliability page": browser.get(f"/projects/{project.pk}/reliability/"),
    }

    turn_text = transcript.turns.first().text
    assert turn_text in answers["coding page"].content.decode()
    assert turn_text in answers["session page with its transcript"].content.decode()
    for name, response in answers.items():
        assert response.status_code == 200, name
        assert no_store(response), (name, response.get("Cache-Control"))


def test_error_pages_are_no_store_too(db, lead):
    browser = Client()
    browser.force_login(lead)

    assert no_store(browser.get("/sessions/999999/"))


def test_static_files_keep_their_cache_lifetime(db):
    from django.test import override_settings

    with override_settings(DEBUG=False):
        response = Client().get("/static/css/app.css")

    assert response.status_code == 200
    assert not no_store(response)


# docker-compose -----------------------------------------------------------------------------


def test_compose_publishes_only_the_web_port_and_on_loopback_by_default():
    import yaml

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]

    assert services["web"]["ports"] == ["${WEB_BIND:-127.0.0.1}:${WEB_PORT:-8000}:8000"]
    assert [name for name, service in services.items() if "ports" in service] == ["web"]
