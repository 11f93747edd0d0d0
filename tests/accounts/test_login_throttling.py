"""Failed log-ins lock out the account and the address for a while (django-axes).

Limit: settings.AXES_FAILURE_LIMIT failures (5 by default) for one account from anywhere, or
from one address for any accounts; a successful log-in clears the count.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory

PASSWORD = "a-long-test-password"  # what UserFactory gives everyone
LOGIN = "/accounts/login/"
TOKEN = "/api/auth/token/"
# Documentation addresses (RFC 5737): only ever written into REMOTE_ADDR.
HERE, THERE, ELSEWHERE = "192.0.2.10", "192.0.2.20", "198.51.100.7"


@pytest.fixture
def alice(db):
    return UserFactory(email="alice@example.org")


@pytest.fixture
def bob(db):
    return UserFactory(email="bob@example.org")


def log_in(email: str, password: str, address: str = HERE, **extra):
    client = Client(REMOTE_ADDR=address, **extra)
    return client, client.post(LOGIN, {"username": email, "password": password})


def fail(email: str, times: int, address: str = HERE) -> None:
    for _ in range(times):
        _client, response = log_in(email, "wrong-password", address)
        # The login page again with its error; from the failure that reaches the limit on,
        # the lockout answer.
        assert response.status_code in (200, 429)


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_limit_is_five_failures_by_default():
    assert settings.AXES_FAILURE_LIMIT == 5


def test_after_the_limit_even_the_right_password_is_refused_with_a_message(alice):
    fail(alice.email, settings.AXES_FAILURE_LIMIT - 1)
    _client, last_failure = log_in(alice.email, "wrong-password")
    assert last_failure.status_code == 429

    client, response = log_in(alice.email, PASSWORD)

    assert response.status_code == 429
    assert not is_logged_in(client)
    page = response.content.decode()
    assert "Too many failed log-in attempts" in page
    assert "15 minutes" in page
    assert 'name="password"' in page  # the login page, with the message in it
    assert response["Retry-After"] == "900"


def test_one_failure_less_than_the_limit_still_lets_the_right_password_in(alice):
    fail(alice.email, settings.AXES_FAILURE_LIMIT - 1)

    client, response = log_in(alice.email, PASSWORD)

    assert response.status_code == 302
    assert is_logged_in(client)


def test_an_address_that_failed_too_often_is_refused_for_another_account(alice, bob):
    fail(alice.email, settings.AXES_FAILURE_LIMIT)

    client, response = log_in(bob.email, PASSWORD, address=HERE)

    assert response.status_code == 429
    assert not is_logged_in(client)


def test_the_address_lockout_leaves_other_addresses_alone(alice, bob):
    fail(alice.email, settings.AXES_FAILURE_LIMIT)

    client, response = log_in(bob.email, PASSWORD, address=THERE)

    assert response.status_code == 302
    assert is_logged_in(client)


def test_failures_from_many_addresses_lock_the_account_everywhere(alice):
    for address in ("192.0.2.31", "192.0.2.32", "192.0.2.33", "192.0.2.34", "192.0.2.35"):
        fail(alice.email, 1, address=address)

    client, response = log_in(alice.email, PASSWORD, address=ELSEWHERE)

    assert response.status_code == 429
    assert not is_logged_in(client)


def test_the_account_is_counted_whatever_the_case_of_the_email(alice):
    for spelling in ("Alice@example.org", "ALICE@EXAMPLE.ORG", "alice@Example.org"):
        fail(spelling, 1, address=THERE)
    fail("alice@example.org", 2, address=ELSEWHERE)

    _client, response = log_in(alice.email, PASSWORD, address="203.0.113.9")

    assert response.status_code == 429


def test_a_successful_log_in_clears_the_count(alice):
    fail(alice.email, settings.AXES_FAILURE_LIMIT - 1)
    _client, success = log_in(alice.email, PASSWORD)
    assert success.status_code == 302

    fail(alice.email, settings.AXES_FAILURE_LIMIT - 1)
    client, response = log_in(alice.email, PASSWORD)

    assert response.status_code == 302
    assert is_logged_in(client)


def test_the_lockout_lifts_after_the_cool_off_time(alice):
    fail(alice.email, settings.AXES_FAILURE_LIMIT)
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time
        - settings.AXES_COOLOFF_TIME
        - timedelta(seconds=1)
    )

    client, response = log_in(alice.email, PASSWORD)

    assert response.status_code == 302
    assert is_logged_in(client)


def test_the_token_endpoint_locks_out_with_the_error_shape(alice):
    api = APIClient(REMOTE_ADDR=HERE)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong = api.post(TOKEN, {"username": alice.email, "password": "no"}, format="json")
        assert wrong.status_code == 400

    last = api.post(TOKEN, {"username": alice.email, "password": "no"}, format="json")
    right = api.post(TOKEN, {"username": alice.email, "password": PASSWORD}, format="json")

    assert last.status_code == 429
    assert right.status_code == 429
    error = right.json()["error"]
    assert error["code"] == "locked_out"
    assert "Too many failed log-in attempts" in error["message"]
    assert "token" not in right.json()
    assert right["Retry-After"] == "900"


def test_failures_on_the_login_page_also_lock_the_token_endpoint(alice):
    fail(alice.email, settings.AXES_FAILURE_LIMIT, address=THERE)

    response = APIClient(REMOTE_ADDR=ELSEWHERE).post(
        TOKEN, {"username": alice.email, "password": PASSWORD}, format="json"
    )

    assert response.status_code == 429


def test_a_token_clears_the_count_like_a_log_in(alice):
    fail(alice.email, settings.AXES_FAILURE_LIMIT - 1)
    api = APIClient(REMOTE_ADDR=HERE)
    assert (
        api.post(TOKEN, {"username": alice.email, "password": PASSWORD}, format="json").status_code
        == 200
    )

    fail(alice.email, settings.AXES_FAILURE_LIMIT - 1)
    client, response = log_in(alice.email, PASSWORD)

    assert response.status_code == 302


def test_behind_a_proxy_the_forwarded_address_is_the_one_counted(settings, alice, bob):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "127.0.0.1"
    # The client may send its own X-Forwarded-For; the proxy appends the address it saw.
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"{THERE}, {HERE}").post(
            LOGIN, {"username": alice.email, "password": "wrong"}
        )

    # Another person behind the same proxy is not locked out...
    _c, other_person = log_in(bob.email, PASSWORD, proxy, HTTP_X_FORWARDED_FOR=ELSEWHERE)
    # ...but the address that failed is, whatever it writes on the left of the header.
    _c, same_person = log_in(bob.email, PASSWORD, proxy, HTTP_X_FORWARDED_FOR=f"{THERE}, {HERE}")

    assert other_person.status_code == 302
    assert same_person.status_code == 429


def test_resetting_the_password_lifts_the_account_s_lockout(alice):
    import re

    from django.core import mail

    fail(alice.email, settings.AXES_FAILURE_LIMIT)
    browser = Client(REMOTE_ADDR=HERE)
    browser.post("/accounts/password-reset/", {"email": alice.email})
    link = re.search(r"/accounts/reset/[^/\s]+/[^/\s]+/", mail.outbox[0].body).group(0)
    form_url = browser.get(link)["Location"]
    browser.post(form_url, {"new_password1": "a-new-long-pass", "new_password2": "a-new-long-pass"})

    client, response = log_in(alice.email, "a-new-long-pass")

    assert response.status_code == 302
    assert is_logged_in(client)
