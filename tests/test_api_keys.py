"""API keys: made by the command or in admin, stored hashed, shown once, revocable."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from evaluations.models import ApiKey

pytestmark = pytest.mark.django_db


def _create(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_the_command_prints_the_key_once_and_stores_only_its_hash(owner: Any) -> None:
    key, note = _create("--name", "nightly import", "--user", owner.username)

    assert key.startswith("hrb_") and len(key) > 40
    assert "shown once" in note and "olivia" in note
    stored = ApiKey.objects.get()
    assert stored.owner == owner and stored.name == "nightly import"
    assert key not in {stored.key_hash, stored.prefix} and stored.prefix == key[:12]
    response = Client().get("/v1/batches", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200 and response.json()["data"] == []
    assert ApiKey.objects.get().last_used_at is not None


def test_without_a_user_the_key_belongs_to_an_api_account(db: None) -> None:
    key, _ = _create("--name", "it script")
    assert ApiKey.objects.get().owner.username == "api"
    assert Client().get("/v1/files", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_an_unknown_user_is_a_clear_error(db: None) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="There is no user 'ghost'"):
        _create("--name", "x", "--user", "ghost")


def test_a_revoked_key_gets_401(owner: Any) -> None:
    key, _ = _create("--name", "old", "--user", owner.username)
    ApiKey.objects.update(revoked_at=timezone.now())

    response = Client().get("/v1/batches", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_admin_creates_a_key_and_shows_it_once(owner: Any) -> None:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345-x")
    client = Client()
    client.force_login(admin)

    response = client.post(
        "/admin/evaluations/apikey/add/", {"owner": owner.pk, "name": "from admin"}, follow=True
    )

    text = response.content.decode()
    stored = ApiKey.objects.get(name="from admin")
    assert stored.owner == owner
    assert "for olivia" in text
    shown = text.split('<code id="api-key">')[1].split("<")[0]
    assert shown.startswith(stored.prefix) and shown.startswith("hrb_")
    page = client.get(f"/admin/evaluations/apikey/{stored.pk}/change/").content.decode()
    assert shown not in page
