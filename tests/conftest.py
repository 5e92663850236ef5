"""Personas and fixtures that start real things: the fake Ollama server, the data dir."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from devtools.fake_ollama import FakeOllama
from evaluations import services
from evaluations.models import File, Run


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    """Every test writes its files under its own tmp dir."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


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
    """The engine pointed at the fake Ollama server, with quick retries."""
    settings.HRBATCH = {
        **settings.HRBATCH,
        "LLM_BACKEND": "ollama",
        "OLLAMA_HOSTS": [fake_ollama.url],
        "RETRY_BACKOFF_SECONDS": 0.01,
        "OUTAGE_PAUSE_SECONDS": 1,
    }
    return settings


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


def write_csv(
    path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8", delimiter: str = ","
) -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def candidates_csv(tmp_path: Path, n: int, *, seed: int = 0, name: str = "candidates.csv") -> Path:
    from devtools.synthetic import write_candidates_csv

    path = tmp_path / name
    write_candidates_csv(path, n, seed=seed)
    return path


def upload(path: Path, owner: Any = None) -> File:
    return services.file_create(
        owner=owner, source=path, filename=path.name, purpose=File.Purpose.CANDIDATES
    )


def start_run(path: Path, owner: Any = None, **kwargs: Any) -> Run:
    kwargs.setdefault("id_column", "id")
    run = services.run_create(owner=owner, input_file=upload(path, owner), **kwargs)
    run.refresh_from_db()
    return run


def read_output(run: Run) -> list[dict[str, str]]:
    assert run.output_file is not None, run.status_message
    with open(run.output_file.abspath, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))
