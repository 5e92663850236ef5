"""API keys for /v1: created once, only their hash stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from ..models import ApiKey
from .common import InputError

API_KEY_PREFIX = "hrb_"


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(*, owner: AbstractBaseUser, name: str) -> tuple[ApiKey, str]:
    """A new key for `owner`; the plain key is returned once and never stored."""
    if not name.strip():
        raise InputError("Give the key a name, e.g. the script or colleague that uses it.")
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        owner=owner, name=name.strip(), prefix=key[:12], key_hash=api_key_hash(key)
    )
    return api_key, key


def api_key_check(key: str) -> ApiKey | None:
    """The live key matching `key` (and note its use), or None."""
    api_key = (
        ApiKey.objects.select_related("owner")
        .filter(key_hash=api_key_hash(key), revoked_at=None, owner__is_active=True)
        .first()
    )
    if api_key is not None:
        now = timezone.now()
        if not api_key.last_used_at or now - api_key.last_used_at > timedelta(minutes=1):
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key
