"""Writes for people: API tokens (create, use, revoke) and setting a password."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import ApiToken, User
from apps.projects.errors import NotFoundError

# A token's last use is written at most this often, so an API client does not turn every
# request into a write.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: the row, and the key, which is shown this once and never stored."""

    token: ApiToken
    key: str


def key_digest(key: str) -> str:
    """The stored form of a key. Keys are 256 random bits, so a plain SHA-256 suffices."""
    return hashlib.sha256(key.encode()).hexdigest()


def password_fingerprint(user: User) -> str:
    """A value that changes whenever the user's password (its stored hash) changes."""
    return hashlib.sha256(f"api-token:{user.password}".encode()).hexdigest()


def api_token_create(*, user: User, name: str = "") -> IssuedToken:
    """Issue a new API token for `user`, valid for settings.API_TOKEN_LIFETIME."""
    key = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name.strip()[:100],
            prefix=key[:8],
            digest=key_digest(key),
            password_fingerprint=password_fingerprint(user),
            created_at=now,
            expires_at=now + settings.API_TOKEN_LIFETIME,
        )
    return IssuedToken(token=token, key=key)


def api_token_authenticate(*, key: str) -> ApiToken | None:
    """The live token with this key (its user loaded), recording its use; None otherwise.

    A token is live while it has not expired, its user is active, and the user's password is
    the one the token was issued under.
    """
    token = ApiToken.objects.active().select_related("user").filter(digest=key_digest(key)).first()
    if token is None or not token.user.is_active:
        return None
    if not secrets.compare_digest(token.password_fingerprint, password_fingerprint(token.user)):
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_token_revoke(*, user: User, token_id: int) -> None:
    """Delete one of the user's own tokens; someone else's token is not found."""
    with transaction.atomic():
        deleted, _ = ApiToken.objects.for_user(user).filter(pk=token_id).delete()
    if not deleted:
        raise NotFoundError()


def api_tokens_revoke_all(*, user: User) -> int:
    """Delete every token of the user; returns how many there were."""
    with transaction.atomic():
        deleted, _ = ApiToken.objects.for_user(user).delete()
    return deleted


def user_password_set(*, user: User, password: str, validate: bool = True) -> int:
    """Set a new password and revoke every API token of the user; returns how many.

    The failed log-ins counted against the account are cleared too: whoever guessed at the
    old password has nothing left to guess, and the lockout message sends a locked-out person
    to the password reset. The password pages validate through their forms (validate=False).
    """
    if validate:
        validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        revoked = api_tokens_revoke_all(user=user)
        axes_reset(username=user.email.lower())
    return revoked
