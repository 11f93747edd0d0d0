"""API tokens: several per person, named, with a lifetime, revocable, and ended by a new
password whichever way it is set."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_create, user_password_set
from tests.factories import UserFactory

PASSWORD = "a-long-test-password"  # what UserFactory gives everyone
NEW_PASSWORD = "a-different-long-passphrase"


@pytest.fixture
def alice(db):
    return UserFactory(email="alice@example.org")


@pytest.fixture
def bob(db):
    return UserFactory(email="bob@example.org")


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def works(key: str) -> bool:
    """Whether the key authenticates an API call."""
    response = with_token(key).get("/api/projects/")
    if response.status_code == 200:
        return True
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] in ("authentication_failed", "not_authenticated")
    return False


def obtain(email: str, password: str = PASSWORD, **extra):
    return APIClient().post(
        "/api/auth/token/", {"username": email, "password": password, **extra}, format="json"
    )


# Getting and using tokens --------------------------------------------------------------------


def test_the_token_endpoint_gives_a_named_token_with_its_lifetime(alice):
    before = timezone.now()
    response = obtain(alice.email, name="import script")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "token",
        "id",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
    }
    assert body["name"] == "import script"
    assert body["token"].startswith(body["prefix"])
    token = ApiToken.objects.get(pk=body["id"])
    assert token.user == alice
    assert timedelta(days=30) == settings.API_TOKEN_LIFETIME
    assert before + timedelta(days=30) <= token.expires_at <= timezone.now() + timedelta(days=30)
    assert works(body["token"])


def test_the_email_is_matched_whatever_its_case(alice):
    assert obtain("ALICE@example.org").status_code == 200


def test_a_person_may_hold_several_tokens_at_once(alice):
    first, second = obtain(alice.email).json()["token"], obtain(alice.email).json()["token"]

    assert first != second
    assert works(first) and works(second)


def test_the_key_itself_is_never_stored(alice):
    issued = api_token_create(user=alice, name="x")

    row = ApiToken.objects.filter(pk=issued.token.pk).values().get()
    assert issued.key not in {str(v) for v in row.values()}
    assert len(issued.key) >= 40  # 32 random bytes, URL-safe base64


def test_an_expired_token_is_refused(alice):
    issued = api_token_create(user=alice)
    ApiToken.objects.filter(pk=issued.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert not works(issued.key)


def test_a_token_of_a_deactivated_account_is_refused(alice):
    issued = api_token_create(user=alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    assert not works(issued.key)


def test_an_unknown_or_malformed_token_is_refused(alice):
    assert not works("not-a-token")
    response = APIClient().get("/api/projects/", HTTP_AUTHORIZATION="Token two words")
    assert response.status_code in (401, 403)


def test_using_a_token_records_when_it_was_last_used(alice):
    issued = api_token_create(user=alice)
    assert issued.token.last_used_at is None

    before = timezone.now()
    assert works(issued.key)

    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None and issued.token.last_used_at >= before


# A new password ends the tokens ---------------------------------------------------------------


def test_changing_the_password_on_its_page_revokes_every_token(alice, bob):
    mine = [api_token_create(user=alice).key for _ in range(2)]
    theirs = api_token_create(user=bob).key
    browser = Client()
    browser.force_login(alice)

    response = browser.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert not ApiToken.objects.filter(user=alice).exists()
    assert not any(works(key) for key in mine)
    assert works(theirs)
    assert "_auth_user_id" in browser.session  # the one changing it stays logged in


def test_a_wrong_current_password_changes_nothing_and_says_so(alice):
    issued = api_token_create(user=alice)
    browser = Client()
    browser.force_login(alice)

    response = browser.post(
        "/accounts/password/",
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    assert works(issued.key)


def test_resetting_the_password_by_email_revokes_every_token(alice):
    issued = api_token_create(user=alice)
    browser = Client()
    browser.post("/accounts/password-reset/", {"email": alice.email})
    link = re.search(r"/accounts/reset/[^/\s]+/[^/\s]+/", mail.outbox[0].body).group(0)
    form_url = browser.get(link)["Location"]

    response = browser.post(
        form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/reset/done/"
    assert not ApiToken.objects.filter(user=alice).exists()
    assert not works(issued.key)
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_a_password_set_anywhere_else_ends_the_tokens_too(alice):
    """The admin or the shell calls set_password directly; the token remembers the password."""
    issued = api_token_create(user=alice)

    alice.set_password(NEW_PASSWORD)
    alice.save(update_fields=["password"])

    assert ApiToken.objects.filter(user=alice).exists()
    assert not works(issued.key)


def test_the_password_service_validates_and_revokes(alice):
    api_token_create(user=alice)
    api_token_create(user=alice)

    assert user_password_set(user=alice, password=NEW_PASSWORD) == 2
    assert not ApiToken.objects.filter(user=alice).exists()


def test_a_reset_link_for_another_account_revokes_nothing_of_mine(alice, bob):
    issued = api_token_create(user=alice)
    uid = urlsafe_base64_encode(force_bytes(bob.pk))
    token = default_token_generator.make_token(bob)
    browser = Client()
    form_url = browser.get(f"/accounts/reset/{uid}/{token}/")["Location"]

    browser.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert works(issued.key)


# Seeing and revoking one's tokens: the API -----------------------------------------------------


def test_the_api_lists_only_my_tokens_and_never_a_key(client_for, alice, bob):
    mine = api_token_create(user=alice, name="laptop")
    api_token_create(user=bob, name="theirs")

    response = client_for(alice).get("/api/auth/tokens/")

    assert response.status_code == 200
    rows = response.json()
    assert [r["id"] for r in rows] == [mine.token.pk]
    assert set(rows[0]) == {"id", "name", "prefix", "created_at", "last_used_at", "expires_at"}
    assert rows[0]["name"] == "laptop"
    assert mine.key not in response.content.decode()


def test_revoking_a_token_through_the_api_ends_it(alice):
    keep, drop = api_token_create(user=alice), api_token_create(user=alice)

    response = with_token(keep.key).delete(f"/api/auth/tokens/{drop.token.pk}/")

    assert response.status_code == 204
    assert not works(drop.key)
    assert works(keep.key)


def test_someone_else_s_token_is_not_found(client_for, alice, bob):
    theirs = api_token_create(user=bob)

    response = client_for(alice).delete(f"/api/auth/tokens/{theirs.token.pk}/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert works(theirs.key)


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/api/auth/tokens/"), ("delete", "/api/auth/tokens/1/")]
)
def test_anonymous_callers_cannot_list_or_revoke_tokens(db, client_for, method, path):
    response = getattr(client_for(None), method)(path)

    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


# Seeing and revoking one's tokens: the page ----------------------------------------------------


def test_the_tokens_page_shows_created_last_used_and_expiry(alice, bob):
    used = api_token_create(user=alice, name="import script")
    works(used.key)
    api_token_create(user=alice, name="never used")
    api_token_create(user=bob, name="bob's secret script")
    browser = Client()
    browser.force_login(alice)

    page = browser.get("/accounts/tokens/").content.decode()

    assert "import script" in page and "never used" in page
    assert "bob&#x27;s secret script" not in page and "bob's secret script" not in page
    assert used.token.prefix in page
    assert used.key not in page
    expires = timezone.localtime(used.token.expires_at).strftime("%Y-%m-%d %H:%M")
    assert expires in page
    assert "never" in page  # the unused token's last use


def test_creating_a_token_on_the_page_shows_its_key_once(alice):
    browser = Client()
    browser.force_login(alice)

    response = browser.post("/accounts/tokens/", {"name": "notebook"})

    assert response.status_code == 200
    key = re.search(r'<code id="issued-key">([^<]+)</code>', response.content.decode()).group(1)
    assert works(key)
    assert key not in browser.get("/accounts/tokens/").content.decode()


def test_a_too_long_token_name_is_shown_as_an_error_on_the_page(alice):
    browser = Client()
    browser.force_login(alice)

    response = browser.post("/accounts/tokens/", {"name": "x" * 101})

    assert response.status_code == 400
    assert "Ensure this value has at most 100 characters" in response.content.decode()
    assert not ApiToken.objects.filter(user=alice).exists()


def test_revoking_on_the_page_ends_the_token(alice):
    issued = api_token_create(user=alice)
    browser = Client()
    browser.force_login(alice)

    response = browser.post(f"/accounts/tokens/{issued.token.pk}/revoke/")

    assert response.status_code == 302
    assert not works(issued.key)


def test_lab_admins_see_tokens_in_the_admin_without_their_digest(alice):
    issued = api_token_create(user=alice, name="lab server")
    admin = UserFactory(email="admin@example.org", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(admin)

    listing = browser.get("/admin/accounts/apitoken/")
    detail = browser.get(f"/admin/accounts/apitoken/{issued.token.pk}/change/")

    assert listing.status_code == 200 and detail.status_code == 200
    assert "lab server" in listing.content.decode()
    for response in (listing, detail):
        assert issued.token.digest not in response.content.decode()
        assert issued.key not in response.content.decode()
