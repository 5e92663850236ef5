"""Files: stored uploads and outputs, the free disk space every write needs, and the
layout of a CSV file as every door reads it (within the column limit)."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from hrbatch.diskfull import is_disk_full

from .. import csvio
from ..models import File, IntakeSpec, Run
from .common import InputError


def _safe_name(filename: str) -> str:
    name = Path(filename or "upload").name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:120] or "upload"


def disk_full_message(need: int | None = None, *, outcome: str = "Nothing was started.") -> str:
    """The refusal in words; `outcome` says what became of the work (services.runs says
    otherwise when a run could not be removed, never a false "nothing was started")."""
    free = shutil.disk_usage(settings.DATA_DIR).free
    needs = f"; this needs about {need / 1e6:,.0f} MB" if need else ""
    return (
        f"The server's disk is too full to take this file ({free / 1e6:,.0f} MB free{needs}). "
        f"{outcome} Delete old runs and files, or ask the administrator to free "
        f"space in {settings.DATA_DIR}, then try again."
    )


def ensure_free_space(*, size: int) -> None:
    """Refuse work for a file of `size` bytes unless the data directory has room for it
    twice over (its copy, its rows in the database, the scored output) plus
    HRBATCH_MIN_FREE_MB to spare: a full disk half-way through leaves a broken run."""
    need = 2 * size + settings.HRBATCH["MIN_FREE_MB"] * 1024 * 1024
    if shutil.disk_usage(settings.DATA_DIR).free < need:
        raise InputError(disk_full_message(need))


def file_create(
    *,
    owner: AbstractBaseUser | None,
    source: BinaryIO | Path | Iterable[bytes],
    filename: str,
    purpose: str,
    size: int | None = None,
) -> File:
    """Stream `source` into the data directory, hashing as it goes (never all in memory).

    `size`, when known beforehand, is checked against the free space first; a write that
    fills the disk anyway leaves no partial file and raises InputError in plain words.
    """
    if isinstance(source, Path):
        size = source.stat().st_size
    if size is not None:
        ensure_free_space(size=size)
    file = File(owner=owner, purpose=purpose, filename=Path(filename).name or "upload")
    relative = Path("files") / file.id / _safe_name(filename)
    target = Path(settings.DATA_DIR) / relative
    digest = hashlib.sha256()
    size = 0
    if isinstance(source, Path):
        chunks: Iterable[bytes] = read_chunks(source)
    elif hasattr(source, "read"):
        chunks = iter(lambda: source.read(1 << 20), b"")  # type: ignore[union-attr]
    else:
        chunks = source  # type: ignore[assignment]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        shutil.rmtree(target.parent, ignore_errors=True)
        raise InputError(disk_full_message()) from exc
    file.path = str(relative)
    file.bytes = size
    file.sha256 = digest.hexdigest()
    file.save()
    return file


def read_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


def file_delete(*, file: File) -> None:
    """Remove the bytes; keep the row (runs that used the file still name it)."""
    file.abspath.unlink(missing_ok=True)
    File.objects.filter(pk=file.pk).update(deleted_at=timezone.now(), bytes=0)


def upload_delete(*, file: File) -> None:
    """Delete a candidate file that was uploaded but never started (its bytes go, and the
    choices made on its check page)."""
    if Run.objects.filter(input_file=file).exists():
        raise InputError(f"{file.filename} is used by a run, so it stays.")
    file_delete(file=file)
    File.objects.filter(pk=file.pk).update(intake={})


def file_choices_update(
    *,
    file: File,
    changes: dict[str, Any] | None = None,
    job_map: dict[str, str | None] | None = None,
) -> IntakeSpec:
    """Keep what a person chose on a file's check page (IntakeSpec), until Start or
    Delete: `changes` replaces those fields; `job_map` maps positions by hand (a
    position's title_key -> a saved job's title_key, "" for no job, None to forget the
    mapping). Read and written under a row lock: two choices made at once both stay."""
    with transaction.atomic():
        locked = File.objects.select_for_update().only("intake").get(pk=file.pk)
        spec = locked.spec.replace(**(changes or {}))
        if job_map:
            mapped = dict(spec.job_map or {})
            for position, target in job_map.items():
                if target is None:
                    mapped.pop(position, None)
                else:
                    mapped[position] = target
            spec = spec.replace(job_map=mapped)
        File.objects.filter(pk=file.pk).update(intake=spec.to_json())
    file.intake = spec.to_json()
    return spec


def file_choices_clear(*, file: File) -> None:
    """Forget a file's check page choices (the run was started with them)."""
    File.objects.filter(pk=file.pk).update(intake={})
    file.intake = {}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in read_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def csv_layout(*, path: str | Path, encoding: str | None = None) -> csvio.CsvLayout:
    """A candidate or jobs CSV file's encoding, separator and header (csvio.sniff), refused
    past HRBATCH_MAX_COLUMNS: every door reads a CSV file's layout through here, so a file
    of 20,000 columns is turned away in seconds everywhere. Raises csvio.CsvProblem."""
    try:
        return csvio.sniff(
            path, encoding=encoding or None, max_columns=settings.HRBATCH["MAX_COLUMNS"]
        )
    except csvio.CsvProblem as problem:
        if problem.code != "too_many_columns":
            raise
        raise csvio.CsvProblem(
            f"{problem.message} (Or ask IT to raise HRBATCH_MAX_COLUMNS.)",
            problem.code,
            problem.row,
        ) from None
