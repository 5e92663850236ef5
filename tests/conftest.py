"""Personas and fixtures that start real things: the fake Ollama server, the data dir,
a fresh PostgreSQL database and Redis broker.

Fixtures only: the helpers tests share are plain modules in `tests/support/`."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from devtools.fake_ollama import FakeOllama


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--public-data",
        action="store_true",
        help="also collect tests/public_data, which reads the public files in ../shared/data "
        "(make test-public-data); make test never reads outside the repository",
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # A clone has no ../shared beside it: the tests of the public files run only when asked.
    if collection_path.name == "public_data" and not config.getoption("--public-data"):
        return True
    return None


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    """Every test writes its files under its own tmp dir, its cache (sign-in and reset
    throttles) included."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": str(settings.DATA_DIR / "cache")}
    }


@pytest.fixture(autouse=True)
def _tasks_run_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """django-q2 runs enqueued tasks at once, in this process (the cluster tests start
    real clusters in subprocesses instead)."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    with FakeOllama(slots=4) as fake:
        yield fake


@pytest.fixture
def engine_settings(settings: Any, fake_ollama: FakeOllama) -> Any:
    """The engine pointed at the fake Ollama server, with quick retries.

    The consistency sample (every run scores ~2% again, at least 20) is off here, so that
    tests of the engine can count requests and attempts exactly; the `consistency` fixture
    (and every subprocess and browser test, on the defaults) has it on."""
    settings.HRBATCH = {
        **settings.HRBATCH,
        "LLM_BACKEND": "ollama",
        "OLLAMA_HOSTS": [fake_ollama.url],
        "RETRY_BACKOFF_SECONDS": 0.01,
        "OUTAGE_PAUSE_SECONDS": 1,
        "CONSISTENCY_PCT": 0,
    }
    return settings


@pytest.fixture
def consistency(engine_settings: Any) -> Any:
    """The engine as configured by default: with the consistency sample."""
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "CONSISTENCY_PCT": 2.0}
    return engine_settings


@pytest.fixture
def owner(db: None) -> Any:
    return get_user_model().objects.create_user(
        "olivia", email="olivia@example.com", password="owner-pass-123"
    )


@pytest.fixture
def colleague(db: None) -> Any:
    return get_user_model().objects.create_user(
        "colin", email="colin@example.com", password="colleague-pass-123"
    )


@pytest.fixture
def outsider(db: None) -> Any:
    return get_user_model().objects.create_user(
        "oscar", email="oscar@example.com", password="outsider-pass-123"
    )


@pytest.fixture
def scale_out(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Environment for the scale-out path: a fresh PostgreSQL database and Redis broker."""
    import psycopg
    import redis

    name = f"hrbatch_cli_{os.getpid()}_{int(time.time())}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    broker = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    broker.flushdb()
    yield {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}",
        "HRBATCH_REDIS_URL": "redis://127.0.0.1:6379/15",
    }
    broker.flushdb()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
