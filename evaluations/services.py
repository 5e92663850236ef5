"""Every write to File / Run / Item goes through here: web, API, CLI and admin alike.

Functions are keyword-only and named <entity>_<action> (HackSoft style). The LLM is never
called inside a transaction: SQLite's IMMEDIATE mode would hold the write lock meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import math
import os
import re
import secrets
import shutil
import socket
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.db.models import Case, F, Q, When
from django.utils import timezone

from . import csvio, intake, prompting
from .llm import BackendError, make_backend, resolve_backend
from .models import ApiKey, File, Item, Rubric, Run
from .rubrics import DEFAULT_CRITERIA, DEFAULT_INSTRUCTIONS, DEFAULT_RUBRIC_NAME

log = logging.getLogger(__name__)

ROLE_ID = "id"
ROLE_MODEL = "model"
ROLE_AUDIT = "audit"
ROLE_IGNORE = "ignore"
ROLES = (ROLE_ID, ROLE_MODEL, ROLE_AUDIT, ROLE_IGNORE)
# "Row number (no ID column)": the rows are numbered (row-2, row-3, …) instead.
ROW_NUMBER = intake.ROW_NUMBER
# What to do with rows too long for the AI model (chosen on the check page or the CLI).
LONG_ROWS_LEAVE_OUT = "leave_out"
LONG_ROWS_TRUNCATE = "truncate"

# Columns that say who a person is rather than what they can do: kept in the output,
# never shown to the model unless someone decides otherwise.
_PERSONAL = re.compile(
    r"(^|_|\b)(name|first.?name|last.?name|full.?name|surname|e.?mail|phone|mobile|tel|"
    r"address|street|zip|postcode|postal|city|birth|dob|age|gender|sex|race|ethnicity|"
    r"religion|nationality|marital|photo|linkedin|url)($|_|\b)",
    re.IGNORECASE,
)
# Columns that hold an earlier judgement of the candidate (a recruiter's score, a decision):
# shown to the model, it could copy the judgement instead of reading the candidate, and a
# comparison with it (how well hrbatch agrees with people) would mean nothing.
_PRIOR_JUDGEMENT = re.compile(
    r"(^|_|\b)(score|scores|scoring|rating|rated|rank|ranking|decision|outcome|hired|"
    r"shortlisted|recommendation|matched)($|_|\b)",
    re.IGNORECASE,
)


AGREEMENT_SAMPLE_MIN = 10
AGREEMENT_SAMPLE_MAX = 50


class InputError(Exception):
    """The caller asked for something impossible; `message` says what to change."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- Files -------------------------------------------------------------------------


def _safe_name(filename: str) -> str:
    name = Path(filename or "upload").name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:120] or "upload"


# Writes that failed because the disk (or the process's file size limit) is full.
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _disk_full_message(need: int | None = None) -> str:
    free = shutil.disk_usage(settings.DATA_DIR).free
    needs = f"; this needs about {need / 1e6:,.0f} MB" if need else ""
    return (
        f"The server's disk is too full to take this file ({free / 1e6:,.0f} MB free{needs}). "
        "Nothing was started. Delete old runs and files, or ask the administrator to free "
        f"space in {settings.DATA_DIR}, then try again."
    )


def ensure_free_space(*, size: int) -> None:
    """Refuse work for a file of `size` bytes unless the data directory has room for it
    twice over (its copy, its rows in the database, the scored output) plus
    HRBATCH_MIN_FREE_MB to spare: a full disk half-way through leaves a broken run."""
    need = 2 * size + settings.HRBATCH["MIN_FREE_MB"] * 1024 * 1024
    if shutil.disk_usage(settings.DATA_DIR).free < need:
        raise InputError(_disk_full_message(need))


def is_disk_full(exc: BaseException) -> bool:
    """Whether a failed write (file or database) was the disk being full."""
    for error in (exc, exc.__cause__):
        if isinstance(error, OSError) and error.errno in _DISK_FULL_ERRNOS:
            return True
        if getattr(error, "sqlstate", None) == "53100":  # PostgreSQL: disk_full
            return True
        text = str(error).lower()
        # SQLite: SQLITE_FULL, or SQLITE_IOERR_WRITE when the write hit a size limit.
        if isinstance(error, DatabaseError | sqlite3.Error) and (
            "disk is full" in text or "disk i/o error" in text
        ):
            return True
    return False


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
        chunks: Iterable[bytes] = _read_chunks(source)
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
        raise InputError(_disk_full_message()) from exc
    file.path = str(relative)
    file.bytes = size
    file.sha256 = digest.hexdigest()
    file.save()
    return file


def _read_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


def file_delete(*, file: File) -> None:
    """Remove the bytes; keep the row (runs that used the file still name it)."""
    file.abspath.unlink(missing_ok=True)
    File.objects.filter(pk=file.pk).update(deleted_at=timezone.now(), bytes=0)


def upload_delete(*, file: File) -> None:
    """Delete a candidate file that was uploaded but never started (its bytes go)."""
    if Run.objects.filter(input_file=file).exists():
        raise InputError(f"{file.filename} is used by a run, so it stays.")
    file_delete(file=file)


# --- API keys ---------------------------------------------------------------------------

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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in _read_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


# --- Rubrics -------------------------------------------------------------------------


def rubric_default() -> Rubric:
    """The newest shared version of the default rubric (seeded by a migration; recreated if
    gone). Personal copies never become anyone's default."""
    rubric = (
        Rubric.objects.filter(name=DEFAULT_RUBRIC_NAME, owner=None).order_by("-version").first()
    )
    if rubric is None:
        rubric, _ = Rubric.objects.get_or_create(
            name=DEFAULT_RUBRIC_NAME,
            version=1,
            owner=None,
            defaults={"instructions": DEFAULT_INSTRUCTIONS, "criteria": DEFAULT_CRITERIA},
        )
    return rubric


def rubric_get(name: str | None) -> Rubric:
    """The newest version of the shared rubric called `name`, or with "NAME vN" that version."""
    if not name:
        return rubric_default()
    shared = Rubric.objects.filter(owner=None)
    rubric = shared.filter(name=name).order_by("-version").first()
    if rubric is None and (match := re.fullmatch(r"(.+?)\s+v(\d+)", name.strip())):
        rubric = shared.filter(name=match[1], version=int(match[2])).first()
    if rubric is None:
        names = ", ".join(sorted(set(shared.values_list("name", flat=True))))
        raise InputError(f"There is no rubric called {name!r}. Rubrics: {names}.")
    return rubric


_CRITERION_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def rubric_save(
    *,
    rubric: Rubric | None,
    author: AbstractBaseUser | None,
    name: str,
    instructions: str,
    criteria: list[dict[str, Any]],
    rationale: bool = False,
) -> Rubric:
    """Create a rubric, or change one, as `author` (None: the command line, trusted).

    Shared rubrics are changed only by staff, and every change is a new version (so the
    history says who changed what, and runs keep what scored them). Anyone else's edit of
    a shared rubric becomes their own copy, seen only by them; their new rubrics too.
    Their own copy, while no run used it, is edited in place.
    """
    if not name.strip():
        raise InputError("Give the rubric a name.")
    if not instructions.strip():
        raise InputError("Write the instructions for the model.")
    if not criteria:
        raise InputError("A rubric needs at least one criterion.")
    keys = [str(c.get("key", "")) for c in criteria]
    for key in keys:
        if not _CRITERION_KEY.match(key):
            raise InputError(
                f"Criterion key {key!r} must be lower-case letters, digits and underscores, "
                "starting with a letter (e.g. technical_skills)."
            )
    if len(set(keys)) != len(keys):
        raise InputError("Each criterion needs its own key.")
    clean = [
        {
            "key": c["key"],
            "label": str(c.get("label") or c["key"]).strip(),
            "description": str(c.get("description", "")).strip(),
            "anchors": {
                level: str(text).strip()
                for level, text in (c.get("anchors") or {}).items()
                if level in ("1", "4", "7", "10") and str(text).strip()
            },
        }
        for c in criteria
    ]
    name = name.strip()
    fields = {"instructions": instructions.strip(), "criteria": clean, "rationale": rationale}
    if rubric is not None and rubric.may_edit(author):
        owner = rubric.owner
    else:  # a new rubric, or someone else's: the author's own unless they are staff
        owner = None if author is None or author.is_staff else author
    if (
        rubric is not None
        and owner is not None
        and rubric.owner_id == owner.pk
        and rubric.name == name
        and not rubric.is_frozen
    ):
        for field, value in fields.items():
            setattr(rubric, field, value)
        rubric.save(update_fields=list(fields))
        return rubric
    with transaction.atomic():
        latest = Rubric.objects.filter(name=name, owner=owner).order_by("-version").first()
        return Rubric.objects.create(
            name=name,
            owner=owner,
            created_by=author,
            based_on=rubric,
            version=(latest.version + 1) if latest else 1,
            **fields,
        )


# --- Columns -------------------------------------------------------------------------


def guess_id_column(*, path: Path, layout: csvio.CsvLayout) -> str | None:
    """One guess for every door: a column named like an ID whose values are filled in and
    unique (the file is read to know); None means the rows are numbered."""
    return intake.guess_id_column(path, layout)


def default_roles(header: list[str], id_column: str | None) -> dict[str, str]:
    """ID → id; personal data, other identifiers and earlier judgements (a human score,
    a decision) → audit (kept, never shown to the model: a record number says nothing
    about a candidate, and a score to copy would replace reading one); the rest → model."""
    roles = {}
    for column in header:
        if column == id_column:
            roles[column] = ROLE_ID
        elif (
            _PERSONAL.search(column.replace(" ", "_"))
            or _PRIOR_JUDGEMENT.search(column.replace(" ", "_"))
            or intake.is_id_like(column)
        ):
            roles[column] = ROLE_AUDIT
        else:
            roles[column] = ROLE_MODEL
    return roles


# --- Before a run: the check that the web page and the CLI share --------------------------


def candidate_chars_limit(
    *, rubric: Rubric, pack_size: int = 1, model_context: int | None = None
) -> int:
    """How many characters of a candidate's text the AI model can read with this rubric:
    the context run_start would give the longest candidate (HRBATCH_MAX_NUM_CTX, or the
    model's own limit when known), less the instructions and the answer."""
    plan = prompting.plan_for(
        instructions=rubric.instructions,
        criteria=rubric.criteria,
        rationale=rubric.rationale,
        pack_size=pack_size,
    )
    num_predict = plan.num_predict(pack_size)
    largest = prompting.size_num_ctx(
        prompt_chars=1 << 40,  # longer than anything: the largest context allowed
        num_predict=num_predict,
        cap=settings.HRBATCH["MAX_NUM_CTX"],
        model_context=model_context,
    )
    return prompting.candidate_chars_limit(
        system_chars=len(plan.system), num_ctx=largest, num_predict=num_predict
    )


def file_check(
    *,
    input_file: File,
    id_column: str | None,
    roles: dict[str, str] | None,
    rubric: Rubric | None = None,
    pack_size: int = 1,
    encoding: str = "",
) -> intake.FileCheck:
    """Every row of the file read once with these choices: its problems, rows too long
    for the model, and (FileCheck.refusals) whether Start must be refused and why.

    The web check page and `manage.py evaluate` both ask this before a run is made, so
    they refuse the same files for the same reasons: duplicate or missing IDs or unreadable
    rows while "leave out rows with problems" is off, and rows too long for the model
    until someone chooses what to do with them. (A run that started anyway would fail at
    once, with nothing but a header to download.) `encoding` is the one a person chose,
    as for run_create, so the check reads the text the run will read."""
    rubric = rubric or rubric_default()
    limit = candidate_chars_limit(rubric=rubric, pack_size=pack_size)
    try:
        layout = csvio.sniff(input_file.abspath, encoding=encoding or None)
    except csvio.CsvProblem as problem:
        return intake.FileCheck(id_column=id_column, limit=limit, file_problem=problem.message)
    roles = dict(roles or default_roles(layout.header, id_column))
    model_columns = [c for c in layout.header if roles.get(c) == ROLE_MODEL and c != id_column]
    return intake.check_file(
        input_file.abspath,
        layout,
        id_column=id_column,
        model_columns=model_columns,
        limit=limit,
    )


# --- Runs: create and ingest ------------------------------------------------------------


def run_create(
    *,
    owner: AbstractBaseUser | None,
    input_file: File,
    rubric: Rubric | None = None,
    model: str = "",
    backend: str = "",
    id_column: str | None = None,
    roles: dict[str, str] | None = None,
    pack_size: int = 1,
    notify_email: str = "",
    name: str = "",
    skip_invalid: bool = False,
    long_rows: str = "",
    start: bool = True,
    defer: bool = False,
    rerun_of: Run | None = None,
    encoding: str = "",
    dedupe_key: str | None = None,
) -> Run:
    """Create a rubric run from a candidate CSV: validate and ingest it, then start it.

    A file that cannot be used gives a run in `failed` with its errors (row numbers and
    fixes) and no Items, never a half-created run that looks valid. With `skip_invalid`,
    rows with problems are left out (and listed) instead. `long_rows` says what to do
    with rows too long for the AI model: leave them out (listed), or "truncate" (score
    their first part, marked in the results); by default they fail, saying why. With
    `defer`, a worker ingests the file (large uploads) and the caller returns at once.
    `encoding` is the text encoding a person chose on the check page ("" = guess), so the
    model and the download get the text the preview showed.
    With `dedupe_key`, a run holding the same key that has not ended raises
    RunAlreadyStarted instead.
    """
    if pack_size < 1 or pack_size > 16:
        raise InputError("Pack size must be between 1 and 16 candidates per request.")
    ensure_free_space(size=input_file.bytes)
    options: dict[str, Any] = {"pack_size": pack_size}
    if dedupe_key:
        options["created_by"] = lease_holder()
    run = _run_insert(
        dedupe_key,
        owner=owner,
        kind=Run.Kind.RUBRIC,
        input_file=input_file,
        rubric=rubric or rubric_default(),
        model=model,
        backend=backend,
        options=options,
        columns={
            "id_column": id_column,
            "roles": roles,
            "skip_invalid": skip_invalid,
            "encoding": encoding,
            "long_rows": long_rows,
        },
        notify_email=notify_email,
        name=_run_name(name) or input_file.filename,
        rerun_of=rerun_of,
    )
    if defer:
        run_id = run.pk

        def enqueue() -> None:
            from django_q.tasks import async_task

            async_task("evaluations.tasks.ingest_run", run_id, start, group=run.public_id)

        transaction.on_commit(enqueue)
        return run
    try:
        run_ingest(run=run)
        if start and run.status == Run.Status.VALIDATING:
            run_start(run=run)
    except (OSError, DatabaseError) as exc:
        if not is_disk_full(exc):
            raise
        # No half-made run (in progress with nothing queued): it goes, with its rows.
        _discard_run(run)
        raise InputError(_disk_full_message(2 * input_file.bytes)) from exc
    return run


def _discard_run(run: Run) -> None:
    """Remove a run that could not be created whole; if even that cannot be written,
    leave it failed with the reason rather than looking like it runs."""
    try:
        with transaction.atomic():
            Item.objects.filter(run_id=run.pk).delete()
            Run.objects.filter(pk=run.pk).delete()
    except DatabaseError:
        log.exception("could not remove run %s after a full disk", run.pk)
        with contextlib.suppress(DatabaseError):
            Run.objects.filter(pk=run.pk).update(
                status=Run.Status.FAILED,
                failed_at=timezone.now(),
                status_message="The server's disk was full while this run was created.",
                dedupe_key=None,
            )


class RunAlreadyStarted(Exception):
    """The same input is being scored already: `run` is that run, to follow instead."""

    def __init__(self, run: Run):
        super().__init__(run.public_id)
        self.run = run


# Runs that still hold their dedupe key: they have not ended.
_KEY_HOLDING = (
    Run.Status.VALIDATING,
    Run.Status.IN_PROGRESS,
    Run.Status.PAUSED,
    Run.Status.FINALIZING,
    Run.Status.CANCELLING,
)


def _run_insert(dedupe_key: str | None, **fields: Any) -> Run:
    """Insert a Run; with a key, race-safely: the unique key is the arbiter.

    Check-then-create would let two processes started at once both create a run (and
    score everything twice); the database's unique constraint lets exactly one in.
    """
    if not dedupe_key:
        return Run.objects.create(**fields)
    for _ in range(3):
        # A key held by a run that has ended is free again.
        Run.objects.filter(dedupe_key=dedupe_key).exclude(status__in=_KEY_HOLDING).update(
            dedupe_key=None
        )
        try:
            with transaction.atomic():
                return Run.objects.create(dedupe_key=dedupe_key, **fields)
        except IntegrityError:
            existing = Run.objects.filter(dedupe_key=dedupe_key).first()
            if existing is None or _abandon_if_orphaned(existing):
                continue  # it ended meanwhile, or its creator died: try again
            raise RunAlreadyStarted(existing) from None
    raise InputError("This file is being started by another process; try again in a moment.")


def _abandon_if_orphaned(run: Run) -> bool:
    """A run left `validating` by a process of this machine that died while reading the
    file would hold its key for ever: fail it (conditionally) and free the key."""
    holder = run.options.get("created_by") or ""
    if run.status != Run.Status.VALIDATING or not holder.startswith(f"{socket.gethostname()}:"):
        return False
    if _holder_alive(holder):
        return False
    return bool(
        Run.objects.filter(pk=run.pk, status=Run.Status.VALIDATING).update(
            status=Run.Status.FAILED,
            failed_at=timezone.now(),
            status_message="The process reading this file stopped before it finished.",
            dedupe_key=None,
        )
    )


def run_ingest(*, run: Run) -> Run:
    """Stream the CSV into Items in chunks; on any problem, fail the run and keep no Items
    (or, when the run skips invalid rows, leave those rows out and list them)."""
    conf = settings.HRBATCH
    path = run.input_file.abspath
    id_column = run.columns.get("id_column")
    roles = run.columns.get("roles")
    skip_invalid = bool(run.columns.get("skip_invalid"))
    long_rows = run.columns.get("long_rows") or ""
    try:
        layout = csvio.sniff(path, encoding=run.columns.get("encoding") or None)
        if id_column is not None and id_column not in layout.header:
            # read_records words this one best (it suggests near matches).
            next(iter(csvio.read_records(path, layout, id_column=id_column)), None)
    except csvio.CsvProblem as problem:
        return _fail_validation(run, [_problem_dict(problem.code, problem.message, problem.row)])

    header = layout.header
    roles = dict(roles or default_roles(header, id_column))
    unknown = sorted(set(roles) - set(header))
    bad_roles = sorted({r for r in roles.values() if r not in ROLES})
    if unknown or bad_roles:
        detail = (
            f"no such columns: {', '.join(unknown)}" if unknown else f"unknown roles: {bad_roles}"
        )
        return _fail_validation(run, [_problem_dict("bad_roles", f"Column roles: {detail}.")])
    for column in header:
        roles.setdefault(column, ROLE_IGNORE)
    if id_column:
        roles[id_column] = ROLE_ID
    model_columns = [i for i, c in enumerate(header) if roles[c] == ROLE_MODEL]
    if not model_columns:
        return _fail_validation(
            run,
            [_problem_dict("no_model_columns", "Choose at least one column to show the model.")],
        )
    other_columns = [i for i, c in enumerate(header) if roles[c] in (ROLE_AUDIT, ROLE_IGNORE)]
    id_index = header.index(id_column) if id_column else None

    run.columns = {
        "encoding": layout.encoding,
        "encoding_label": layout.encoding_label,
        "delimiter": layout.delimiter,
        "delimiter_label": layout.delimiter_label,
        "header": header,
        "id_column": id_column,
        "roles": roles,
        "skip_invalid": skip_invalid,
        "long_rows": long_rows,
    }
    run.save(update_fields=["columns"])
    limit = (
        candidate_chars_limit(rubric=run.rubric, pack_size=run.pack_size)
        if long_rows == LONG_ROWS_LEAVE_OUT and run.rubric
        else None
    )
    left_out: list[dict[str, Any]] = []

    errors: list[dict[str, Any]] = []
    rejected = 0
    warnings = 0
    writer = ItemWriter(run.pk)
    batch: list[tuple[int, str, dict[str, Any], dict[str, Any]]] = []
    total = 0
    max_chars = 0
    unreadable = csvio.ReadStats()
    try:
        for row, values, problem in csvio.read_records(
            path, layout, id_column=id_column, stats=unreadable
        ):
            if problem is not None:
                if problem.code == "empty_row":
                    warnings += 1
                    continue
                rejected += 1
                if len(errors) < conf["MAX_VALIDATION_ERRORS"]:
                    errors.append(_problem_dict(problem.code, problem.message, problem.row))
                elif not skip_invalid:
                    break
                continue
            if (errors and not skip_invalid) or values is None:
                continue  # keep reading to report every problem, but insert nothing more
            fields = {header[i]: values[i] for i in model_columns}
            chars = len(prompting.candidate_text(fields))
            if limit is not None and chars > limit:
                # Too long for the model, and its owner chose to leave such rows out.
                rejected += 1
                if len(left_out) < conf["MAX_VALIDATION_ERRORS"]:
                    message = prompting.too_long_message(row=row, chars=chars, limit=limit)
                    left_out.append(_problem_dict("too_long", f"{message} Left out.", row))
                continue
            max_chars = max(max_chars, chars)
            batch.append(
                (
                    row,
                    values[id_index].strip() if id_index is not None else f"row-{row}",
                    fields,
                    {header[i]: values[i] for i in other_columns},
                )
            )
            if len(batch) >= conf["INGEST_BATCH"]:
                total += writer.insert(batch)
                batch = []
                # Shown while a large file is being read.
                Run.objects.filter(pk=run.pk).update(total_count=total)
    except csvio.CsvProblem as problem:
        errors.insert(0, _problem_dict(problem.code, problem.message, problem.row))
        skip_invalid = False  # a file-level problem: nothing in it can be trusted
    total += writer.insert(batch)
    if (errors and not skip_invalid) or total == 0:
        Item.objects.filter(run_id=run.pk).delete()
        return _fail_validation(run, errors or left_out)
    errors = sorted(errors + left_out, key=lambda e: e["line"] or 0)
    notes = []
    if rejected:
        notes.append(f"{rejected} row{'s' if rejected != 1 else ''} with problems left out.")
    if warnings:
        notes.append(f"{warnings} empty row{'s' if warnings != 1 else ''} skipped.")
    run.total_count = total
    run.max_input_chars = max_chars
    run.errors = errors
    run.options = {
        **run.options,
        "rejected_count": rejected,
        # Shown on the run page and by `evaluate`: damaged bytes were replaced, not rejected.
        "unreadable": unreadable.message(),
        "unreadable_chars": unreadable.unreadable_chars,
    }
    run.status_message = " ".join(notes)
    run.save(
        update_fields=["total_count", "max_input_chars", "errors", "options", "status_message"]
    )
    return run


def run_ingest_and_start(*, run_id: int, start: bool = True) -> Run | None:
    """The deferred half of run_create (a worker reads large files)."""
    run = Run.objects.filter(pk=run_id, status=Run.Status.VALIDATING).first()
    if run is None or run.items.exists():
        return run  # already ingested (a redelivered task) or cancelled meanwhile
    run_ingest(run=run)
    if start and run.status == Run.Status.VALIDATING:
        run_start(run=run)
    return run


class ItemWriter:
    """Inserts Items with one executemany per chunk.

    bulk_create compiles the SQL of every field of every row, three quarters of the time
    of a 170,000-line ingest. Here the statement is built once, the other columns take
    their model defaults (from Item._meta), and only line, custom_id, input and extra vary.
    """

    _VARYING = ("line", "custom_id", "input", "extra")

    def __init__(self, run_id: int):
        self.using = router.db_for_write(Item)
        self.connection = connections[self.using]
        quote = self.connection.ops.quote_name
        fields = [f for f in Item._meta.concrete_fields if not f.primary_key]
        self.template: list[Any] = []
        for field in fields:
            if field.name == "run":
                self.template.append(run_id)
            elif field.name in self._VARYING:
                self.template.append(None)
            else:
                default = field.get_default()
                self.template.append(field.get_db_prep_save(default, self.connection))
        names = [f.name for f in fields]
        self.slots = tuple(names.index(name) for name in self._VARYING)
        self.json_field = Item._meta.get_field("input")
        self.sql = "INSERT INTO {} ({}) VALUES ({})".format(
            quote(Item._meta.db_table),
            ", ".join(quote(f.column) for f in fields),
            ", ".join(["%s"] * len(fields)),
        )

    def insert(self, rows: list[tuple[int, str, dict[str, Any], dict[str, Any]]]) -> int:
        """Rows of (line, custom_id, input, extra), in one short transaction."""
        if not rows:
            return 0
        line_at, custom_id_at, input_at, extra_at = self.slots
        prepare = self.json_field.get_db_prep_save
        params = []
        for line, custom_id, body, extra in rows:
            values = list(self.template)
            values[line_at] = line
            values[custom_id_at] = custom_id
            values[input_at] = prepare(body, self.connection)
            values[extra_at] = prepare(extra, self.connection)
            params.append(values)
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            cursor.executemany(self.sql, params)
        return len(rows)


def _problem_dict(code: str, message: str, line: int | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "line": line}


def _fail_validation(run: Run, errors: list[dict[str, Any]]) -> Run:
    count = len(errors)
    first = errors[0]["message"]
    run.errors = errors
    run.status = Run.Status.FAILED
    run.failed_at = timezone.now()
    run.status_message = first if count == 1 else f"{count} problems in the file; first: {first}"
    run.total_count = 0
    run.save(update_fields=["errors", "status", "failed_at", "status_message", "total_count"])
    from . import notify

    notify.run_finished(run=run)
    return run


# --- Runs: start, dispatch -----------------------------------------------------------


def run_start(*, run: Run) -> Run:
    """Pick the backend and model, size the prompt, and hand the Items to the workers."""
    conf = settings.HRBATCH
    choice = resolve_backend(run.backend or None)
    backend = make_backend(choice.name)
    model = run.model or backend.default_model
    if choice.name == "embedded" and run.model and run.model != backend.default_model:
        model = backend.default_model  # auto fell back: the asked-for model is not here
    try:
        info = asyncio.run(_model_info(backend, model))
    except BackendError as exc:
        run.backend, run.model = choice.name, model
        if run.status != Run.Status.PAUSED or run.paused_at is None:
            run.paused_at = timezone.now()  # a failed resume keeps the pause's start
        run.status = Run.Status.PAUSED
        run.status_message = f"{exc} Then resume the run."
        run.save(update_fields=["backend", "model", "status", "paused_at", "status_message"])
        return run

    options = dict(run.options)
    if run.kind == Run.Kind.RUBRIC:
        plan = plan_for_run(run)
        pack = plan.pack_size
        num_predict = plan.num_predict(pack)
        options["num_predict"] = num_predict
        options["num_ctx"] = prompting.size_num_ctx(
            # LIMIT_STEP to spare: the engine's limit is rounded down to it (prompting).
            prompt_chars=prompting.prompt_chars(
                system_chars=len(plan.system),
                candidate_chars=run.max_input_chars + prompting.LIMIT_STEP,
                pack_size=pack,
            ),
            num_predict=num_predict,
            cap=conf["MAX_NUM_CTX"],
            model_context=info.context_length,
        )
        run.prompt_hash = plan.hash
        if pack > 1 and run.total_count:
            # About 2% of the candidates (10 to 50) are also scored alone: the agreement
            # sample that shows what packing costs in fidelity.
            sample = min(AGREEMENT_SAMPLE_MAX, max(AGREEMENT_SAMPLE_MIN, run.total_count // 50))
            options["agreement_stride"] = max(1, run.total_count // sample)
    else:  # an API batch: one num_ctx for its longest request (batches.py)
        from .batches import batch_context_options

        options.update(batch_context_options(run, model_context=info.context_length))
    options.setdefault("seed", conf["SEED"])
    options.setdefault("temperature", 0.0)
    options["keep_alive"] = conf["KEEP_ALIVE"]
    if choice.notice or backend.is_demo:
        options["notice"] = choice.notice or (
            "The embedded demo model's scores are for trying the app, not for hiring decisions."
        )
    run.backend = choice.name
    run.model = model
    run.model_digest = info.digest
    run.options = options
    now = timezone.now()
    with transaction.atomic():
        updated = Run.objects.filter(
            pk=run.pk, status__in=[Run.Status.VALIDATING, Run.Status.PAUSED]
        ).update(
            resumed_at=now,
            paused_seconds=_book_pause(run, now),
            backend=run.backend,
            model=run.model,
            model_digest=run.model_digest,
            prompt_hash=run.prompt_hash,
            options=options,
            status=Run.Status.IN_PROGRESS,
            in_progress_at=F("in_progress_at") if run.in_progress_at else now,
            status_message="",
            outage_since=None,
            outage_message="",
            last_progress_at=now,
        )
        if updated:
            _dispatch(run)
    run.refresh_from_db()
    return run


async def _model_info(backend: Any, model: str) -> Any:
    try:
        return await backend.model_info(model)
    finally:
        await backend.aclose()


def plan_for_run(run: Run, *, pack_size: int | None = None) -> prompting.PromptPlan:
    rubric = run.rubric
    assert rubric is not None
    return prompting.plan_for(
        instructions=rubric.instructions,
        criteria=rubric.criteria,
        rationale=rubric.rationale,
        pack_size=pack_size or run.pack_size,
    )


def chunk_size_for(total: int) -> int:
    """Spread small runs over every worker; cap chunks so a lost task costs little."""
    conf = settings.HRBATCH
    workers = int(settings.Q_CLUSTER.get("workers") or 1)
    per_worker = math.ceil(total / max(workers * 2, 1))
    return max(min(per_worker, conf["CHUNK_SIZE"]), min(20, conf["CHUNK_SIZE"]), 1)


def _dispatch(run: Run, *, ids: Iterable[int] | None = None) -> int:
    """Enqueue one task per chunk of unclaimed pending Items, once the transaction commits."""
    if ids is None:
        ids = (
            Item.objects.filter(run_id=run.pk, status=Item.Status.PENDING, lease_token=None)
            .order_by("id")
            .values_list("id", flat=True)
            .iterator(chunk_size=5000)
        )
    size = chunk_size_for(run.total_count)
    ranges: list[tuple[int, int]] = []
    current: list[int] = []
    for item_id in ids:
        current.append(item_id)
        if len(current) == size:
            ranges.append((current[0], current[-1]))
            current = []
    if current:
        ranges.append((current[0], current[-1]))

    run_id, group = run.pk, run.public_id

    def enqueue() -> None:
        from django_q.tasks import async_task

        for lo, hi in ranges:
            async_task(
                "evaluations.tasks.process_chunk",
                run_id,
                lo,
                hi,
                group=group,
                task_name=f"{group}:{lo}-{hi}",
            )

    transaction.on_commit(enqueue)
    Run.objects.filter(pk=run.pk).update(dispatched_at=timezone.now())
    return len(ranges)


def run_redispatch(*, run: Run) -> int:
    """Enqueue tasks again for every unclaimed pending Item of a running run.

    Safe to over-do: a task claims only Items nobody holds, so a duplicate finds nothing.
    Used when a person restarts after a crash (the broker may have lost queued tasks).
    """
    if run.status != Run.Status.IN_PROGRESS:
        return 0
    with transaction.atomic():
        return _dispatch(run)


def run_retry_failed(*, run: Run, truncate_long: bool = False) -> int:
    """Give every failed Item of a finished or running run a fresh set of attempts.

    With `truncate_long`, rows too long for the AI model are scored on their first part
    this time (marked `truncated` in the results) instead of failing the same way again.
    """
    if run.status not in (Run.Status.COMPLETED, Run.Status.IN_PROGRESS, Run.Status.PAUSED):
        return 0
    with transaction.atomic():
        if truncate_long and run.kind == Run.Kind.RUBRIC:
            run.columns = {**run.columns, "long_rows": LONG_ROWS_TRUNCATE}
            run.save(update_fields=["columns"])
        count = Item.objects.filter(run_id=run.pk, status=Item.Status.FAILED).update(
            status=Item.Status.PENDING,
            attempts=0,
            finished_at=None,
            lease_token=None,
            lease_until=None,
        )
        if not count:
            return 0
        Run.objects.filter(pk=run.pk).update(failed_count=F("failed_count") - count)
        reopened = Run.objects.filter(pk=run.pk, status=Run.Status.COMPLETED).update(
            status=Run.Status.IN_PROGRESS, completed_at=None, notified_at=None
        )
        run.refresh_from_db()
        if run.status == Run.Status.IN_PROGRESS:
            _dispatch(run)
    if reopened:
        log.info("run %s reopened to retry %d failed items", run.pk, count)
    return count


def run_rerun(
    *,
    run: Run,
    owner: AbstractBaseUser | None = None,
    rubric: Rubric | None = None,
    model: str | None = None,
) -> Run:
    """Score the same file again as a new run (linked to the original), optionally with
    another rubric version or model."""
    if run.kind != Run.Kind.RUBRIC:
        raise InputError("Only candidate-file runs can be rerun here.")
    return run_create(
        owner=owner or run.owner,
        input_file=run.input_file,
        rubric=rubric or run.rubric,
        model=run.model if model is None else model,
        backend=run.backend,
        id_column=run.columns.get("id_column"),
        roles=run.columns.get("roles"),
        pack_size=run.pack_size,
        notify_email=run.notify_email,
        name=f"{run.name} (rerun)",
        skip_invalid=bool(run.columns.get("skip_invalid")),
        long_rows=run.columns.get("long_rows") or "",
        defer=True,
        rerun_of=run,
        encoding=run.columns.get("encoding") or "",
    )


# --- Runs: names ------------------------------------------------------------------------

RUN_NAME_MAX = Run._meta.get_field("name").max_length or 200


def _run_name(name: str) -> str:
    """One line (it is an e-mail subject and a file name), no stray spaces, not too long."""
    return " ".join(name.split())[:RUN_NAME_MAX]


def run_rename(*, run: Run, name: str) -> Run:
    """Give a run the name people know it by (runs list, page title, e-mail, download)."""
    clean = _run_name(name)
    if not clean:
        raise InputError("Give the run a name, for example the intake or the job it is for.")
    Run.objects.filter(pk=run.pk).update(name=clean)
    run.name = clean
    return run


def run_name_suggestion(*, owner: AbstractBaseUser | None, filename: str) -> str:
    """The file's name, numbered when this person already has a run by that name, so
    that two uploads of one file can be told apart ("pool.csv", "pool.csv (2)", ...)."""
    base = _run_name(filename) or "candidates"
    taken = set(
        Run.objects.filter(owner=owner, name__startswith=base).values_list("name", flat=True)
    )
    if base not in taken:
        return base
    number = 2
    while f"{base} ({number})" in taken:
        number += 1
    return f"{base} ({number})"


# --- Runs: pause, resume, cancel -------------------------------------------------------


def run_pause(*, run: Run, reason: str = "") -> bool:
    """Workers finish the requests in flight, then leave the rest pending."""
    updated = Run.objects.filter(
        pk=run.pk, status__in=[Run.Status.IN_PROGRESS, Run.Status.VALIDATING]
    ).update(status=Run.Status.PAUSED, paused_at=timezone.now(), status_message=reason)
    run.refresh_from_db()
    return bool(updated)


def _book_pause(run: Run, now: Any) -> Any:
    """Run.paused_seconds plus the pause that ends now, for the UPDATE that resumes or
    cancels a paused run that had been scoring, so that figures leave the pause out.

    Conditional in the database: only a row still in the very pause this copy of the run
    measured books it, so a stale copy (someone resumed meanwhile) books nothing twice.
    """
    if run.status != Run.Status.PAUSED or run.paused_at is None or run.in_progress_at is None:
        return F("paused_seconds")
    seconds = max((now - run.paused_at).total_seconds(), 0.0)
    return Case(
        When(
            status=Run.Status.PAUSED,
            paused_at=run.paused_at,
            then=F("paused_seconds") + seconds,
        ),
        default=F("paused_seconds"),
    )


def run_resume(*, run: Run) -> bool:
    if run.status != Run.Status.PAUSED:
        return False
    run_start(run=run)
    # Still paused means the backend is still unavailable (see status_message).
    return run.status != Run.Status.PAUSED


def run_cancel(*, run: Run) -> bool:
    """Stop a run: what is done stays done, the rest is cancelled, outputs are written."""
    now = timezone.now()
    with transaction.atomic():
        updated = Run.objects.filter(
            pk=run.pk,
            status__in=[
                Run.Status.VALIDATING,
                Run.Status.IN_PROGRESS,
                Run.Status.PAUSED,
            ],
        ).update(
            status=Run.Status.CANCELLING,
            cancelling_at=now,
            paused_seconds=_book_pause(run, now),
        )
        if updated:
            _cancel_unclaimed(run.pk)
    run.refresh_from_db()
    if updated:
        run_finalize_if_done(run_id=run.pk)
        run.refresh_from_db()
    return bool(updated)


def _cancel_unclaimed(run_id: int, token: str | None = None) -> int:
    """Cancel pending Items no live worker holds (or those `token` held)."""
    items = Item.objects.filter(run_id=run_id, status=Item.Status.PENDING)
    if token is None:
        items = items.filter(Q(lease_token=None) | Q(lease_until__lt=timezone.now()))
    else:
        items = items.filter(lease_token=token)
    with transaction.atomic():  # the counter moves with the Items, or neither does
        count = items.update(
            status=Item.Status.CANCELLED,
            lease_token=None,
            lease_until=None,
            finished_at=timezone.now(),
        )
        if count:
            Run.objects.filter(pk=run_id).update(cancelled_count=F("cancelled_count") + count)
    return count


def run_note_outage(*, run: Run, message: str) -> bool:
    """Say that the LLM server stopped answering; the workers keep probing it.

    Conditional: the first worker to notice sets the time, the others find it set.
    """
    return bool(
        Run.objects.filter(pk=run.pk, outage_since=None).update(
            outage_since=timezone.now(), outage_message=message
        )
    )


def run_clear_outage(*, run: Run) -> bool:
    """The server answers again: scoring goes on by itself."""
    return bool(
        Run.objects.filter(pk=run.pk, outage_since__isnull=False).update(
            outage_since=None, outage_message=""
        )
    )


# --- Runs: finalize ----------------------------------------------------------------------


def _second_pass(run_id: int) -> bool:
    """Give the failed Items of a run that has nothing left pending one more try.

    Once per run, automatically, before it completes: a failure that held through
    every retry may still have been transient (a server that restarted for minutes).
    Failures with a lasting reason (too long, refused by the server) cost at most one
    request and fail again with the same reason.
    """
    nothing_pending = Q(total_count=F("done_count") + F("failed_count") + F("cancelled_count"))
    with transaction.atomic():
        # The claim is one conditional UPDATE: of several workers finishing at once,
        # exactly one starts the second pass.
        claimed = Run.objects.filter(
            nothing_pending,
            pk=run_id,
            status=Run.Status.IN_PROGRESS,
            second_pass_at=None,
            failed_count__gt=0,
        ).update(second_pass_at=timezone.now())
        if not claimed:
            return False
        count = Item.objects.filter(run_id=run_id, status=Item.Status.FAILED).update(
            status=Item.Status.PENDING,
            attempts=0,
            finished_at=None,
            lease_token=None,
            lease_until=None,
        )
        Run.objects.filter(pk=run_id).update(failed_count=F("failed_count") - count)
        log.info("run %s: second pass for %d failed items", run_id, count)
        _dispatch(Run.objects.get(pk=run_id))
    return True


def run_finalize_if_done(*, run_id: int) -> bool:
    """Write the outputs and set the final status once no Item is pending (idempotent).

    The check and the claim are one conditional UPDATE, so of several workers finishing
    at once exactly one finalises, and a stale read can never complete a cancelled run.
    """
    if Run.objects.filter(pk=run_id, status=Run.Status.CANCELLING).exists():
        # Items whose worker died while the run was being cancelled.
        _cancel_unclaimed(run_id)
    elif _second_pass(run_id):
        return False
    nothing_pending = Q(total_count=F("done_count") + F("failed_count") + F("cancelled_count"))
    for current, final in (
        (Run.Status.CANCELLING, Run.Status.CANCELLED),
        (Run.Status.IN_PROGRESS, Run.Status.COMPLETED),
    ):
        claimed = Run.objects.filter(nothing_pending, pk=run_id, status=current).update(
            status=Run.Status.FINALIZING, finalizing_at=timezone.now()
        )
        if claimed:
            return _finalize(Run.objects.get(pk=run_id), final)
    return False


def _finalize(run: Run, final: str) -> bool:
    from . import export, notify

    run.refresh_from_db()
    # A batch past its completion window was stopped through `cancelling` with
    # `expired_at` set (batches.batch_expire_overdue): it ends `expired`, not cancelled.
    if run.expired_at is not None:
        final = Run.Status.EXPIRED
    output = export.write_outputs(run)
    now = timezone.now()
    fields: dict[str, Any] = {"status": final}
    if final != Run.Status.EXPIRED:
        fields["cancelled_at" if final == Run.Status.CANCELLED else "completed_at"] = now
    if output:
        fields["output_file"] = output
    updated = Run.objects.filter(pk=run.pk, status=Run.Status.FINALIZING).update(**fields)
    run.refresh_from_db()
    if updated:
        notify.run_finished(run=run)
    return bool(updated)


# --- Recovery --------------------------------------------------------------------------


_holder: tuple[int, str] | None = None


def lease_holder() -> str:
    """This process, as recorded with the leases it takes: host, pid and start time.

    The start time tells a reused pid from the process that took the lease.
    """
    global _holder
    import psutil

    pid = os.getpid()
    if _holder is None or _holder[0] != pid:  # a forked worker is another process
        _holder = (pid, f"{socket.gethostname()}:{pid}:{psutil.Process().create_time():.2f}")
    return _holder[1]


def _holder_alive(holder: str) -> bool:
    """Whether the process that took a lease on this machine still runs."""
    import psutil

    try:
        _, pid, started = holder.rsplit(":", 2)
        process = psutil.Process(int(pid))
        return (
            abs(process.create_time() - float(started)) < 0.05
            and process.status() != psutil.STATUS_ZOMBIE
        )
    except (ValueError, psutil.Error):
        return False


def _dead_holders(now: Any) -> list[str]:
    """Holders of live leases that are provably dead: processes of this machine that are
    gone. Leases of other machines keep their timed expiry (we cannot see their pids)."""
    holders = (
        Item.objects.filter(
            status=Item.Status.PENDING,
            lease_token__isnull=False,
            lease_until__gte=now,
            lease_holder__startswith=f"{socket.gethostname()}:",
        )
        .values_list("lease_holder", flat=True)
        .distinct()
    )
    return [holder for holder in holders if not _holder_alive(holder)]


def leases_release_dead() -> int:
    """Hand back at once the Items leased by processes of this machine that are gone
    (a rerun after a crash need not wait for their leases to run out)."""
    dead = _dead_holders(timezone.now())
    if not dead:
        return 0
    return Item.objects.filter(
        status=Item.Status.PENDING, lease_token__isnull=False, lease_holder__in=dead
    ).update(lease_token=None, lease_until=None)


def sweep() -> dict[str, int]:
    """Periodic recovery: re-queue Items of dead workers, finish stuck runs.

    Idempotent and safe to run from several machines at once.
    """
    conf = settings.HRBATCH
    now = timezone.now()
    report = {"released": 0, "redispatched": 0, "finalized": 0}
    from .batches import batch_expire_overdue

    report["expired"] = batch_expire_overdue()  # API batches past their 24h window

    # Leases that ran out, and at once those of dead processes on this machine.
    expired = Item.objects.filter(
        Q(lease_until__lt=now) | Q(lease_holder__in=_dead_holders(now)),
        lease_token__isnull=False,
        status=Item.Status.PENDING,
    )
    run_ids = set(expired.values_list("run_id", flat=True).distinct())
    for run_id in run_ids:
        with transaction.atomic():
            report["released"] += expired.filter(run_id=run_id).update(
                lease_token=None, lease_until=None
            )
            run = Run.objects.get(pk=run_id)
            if run.status == Run.Status.IN_PROGRESS:
                _dispatch(run)
                report["redispatched"] += 1

    stall_before = now - timedelta(seconds=conf["STALL_SECONDS"])
    for run in Run.objects.filter(status=Run.Status.IN_PROGRESS).exclude(pk__in=run_ids):
        if run.pending_count == 0:
            continue
        last = max(filter(None, [run.dispatched_at, run.last_progress_at, run.in_progress_at]))
        live_leases = Item.objects.filter(
            run_id=run.pk, lease_token__isnull=False, lease_until__gte=now
        ).exists()
        if last < stall_before and not live_leases:
            report["redispatched"] += int(bool(run_redispatch(run=run)))

    for run_id in Run.objects.filter(
        status__in=[Run.Status.IN_PROGRESS, Run.Status.CANCELLING]
    ).values_list("pk", flat=True):
        report["finalized"] += int(run_finalize_if_done(run_id=run_id))
    # E-mails that could not be sent (SMTP down) are tried again for a day.
    from . import notify

    for run in Run.objects.filter(
        status__in=Run.TERMINAL_STATUSES,
        notified_at=None,
        created_at__gte=now - timedelta(days=1),
    ).exclude(notify_email="", owner__email=""):
        notify.run_finished(run=run)
    # A worker that died while writing the outputs leaves the run in `finalizing`.
    stuck = now - timedelta(seconds=conf["LEASE_SECONDS"] * 5)
    for run in Run.objects.filter(status=Run.Status.FINALIZING, finalizing_at__lt=stuck):
        final = Run.Status.CANCELLED if run.cancelling_at else Run.Status.COMPLETED
        if Run.objects.filter(pk=run.pk, finalizing_at=run.finalizing_at).update(finalizing_at=now):
            report["finalized"] += int(_finalize(run, final))
    return report


def run_find_resumable(*, sha256: str, owner: AbstractBaseUser | None = None) -> Run | None:
    """The newest unfinished run of the same input file content (CLI `evaluate` resumes it)."""
    runs = Run.objects.filter(
        input_file__sha256=sha256,
        kind=Run.Kind.RUBRIC,
        status__in=[
            Run.Status.IN_PROGRESS,
            Run.Status.PAUSED,
            Run.Status.FINALIZING,
            Run.Status.CANCELLING,
        ],
    )
    if owner is not None:
        runs = runs.filter(owner=owner)
    return runs.order_by("-created_at").first()


def run_find_retryable(*, sha256: str, owner: AbstractBaseUser | None = None) -> Run | None:
    """The newest run of the same input file content whose failed rows can be tried again
    (finished, running or paused: the states run_retry_failed accepts)."""
    runs = Run.objects.filter(
        input_file__sha256=sha256,
        kind=Run.Kind.RUBRIC,
        status__in=[Run.Status.COMPLETED, Run.Status.IN_PROGRESS, Run.Status.PAUSED],
    )
    if owner is not None:
        runs = runs.filter(owner=owner)
    return runs.order_by("-created_at").first()


def run_chars_limit(*, run: Run) -> int:
    """The characters of a candidate's text this started run's model can read (the
    engine's limit: the run's own context size, instructions and answer)."""
    assert run.rubric is not None
    if "num_ctx" not in run.options:  # not started yet: the largest context allowed
        return candidate_chars_limit(rubric=run.rubric, pack_size=run.pack_size)
    return prompting.candidate_chars_limit(
        system_chars=len(plan_for_run(run).system),
        num_ctx=int(run.options["num_ctx"]),
        num_predict=int(run.options["num_predict"]),
    )


def run_too_long_failed(*, run: Run) -> int:
    """How many of a run's failed rows failed for being too long for the AI model."""
    if run.kind != Run.Kind.RUBRIC or not run.failed_count:
        return 0
    return Item.objects.filter(
        run_id=run.pk, status=Item.Status.FAILED, error__contains=prompting.TOO_LONG_WORDS
    ).count()
