"""Outputs of both kinds of run, from the database in input order: the scored CSV of a
rubric run, the output and error JSONL files of an API batch. `write_outputs` writes
either when a run finishes.

The scored CSV comes in two flavours, both with the upload's separator (a `;` file comes
back with `;`, so the Excel that saved it opens it in columns again):

- for Excel (`excel=True`): a byte-order mark, so Excel reads UTF-8, and every cell that a
  spreadsheet would run as a formula, the header's included, prefixed with `'`
  (csvio.neutralize_cell, in csv_chunks: every download for Excel is written there);
- plain, for other programs: every original value exactly as uploaded. This is also the
  file stored when a run finishes, which `evaluate --out` writes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

from .csvio import neutralize_cell
from .llm import without_server_addresses
from .models import Explanation, File, Item, Run
from .openai_compat import TOO_LONG_MARK

# The types stored files are served with. Never guessed from the name an uploader chose:
# a file named x.html must come back as a download, not as a page of this site.
MEDIA_TYPES = {".jsonl": "application/jsonl", ".csv": "text/csv; charset=utf-8"}


# The column of the newest explanation of a candidate, in every CSV that has candidates.
EXPLANATION = "explanation"


def media_type(filename: str) -> str:
    return MEDIA_TYPES.get(Path(filename).suffix.lower(), "application/octet-stream")


# The column of the job a candidate applied for, in every CSV of a run with jobs.
JOB = "job"
# What a person should look at (evaluations.flags), codes separated by ";", in every CSV
# that has candidates.
FLAGS = "flags"
# The row of the uploaded file (header = 1) in every CSV of candidates; and, in a run with
# copies (Item.copy_of), the row a copy repeats, whose scores it took.
ROW = "row"
COPY_OF_ROW = "copy_of_row"
# A shortlist or list download of a run with copies: the rows of each candidate's copies,
# listed with it rather than taking places of their own.
COPY_ROWS = "copy_rows"


def _has_copies(run: Run) -> bool:
    return bool(run.opts.copy_count)


def scored_header(run: Run, *, explained: bool = False, jobs: bool | None = None) -> list[str]:
    """The scored CSV's columns: the file's, then the job (a run with jobs; `jobs`: whether
    it has, None: look), the scores, status, error and flags (and rationale, truncated
    when the run has them; `explained`: the explanation)."""
    header = list(run.intake.header)
    taken = set(header)
    if jobs is None:
        jobs = bool(run.job_labels())
    added = [JOB] if jobs else []
    added += [*run.rubric.criterion_keys] if run.rubric else []
    if run.rubric and run.rubric.rationale:
        added.append("rationale")
    added += ["status", "error", FLAGS]
    if _truncates(run):
        added.append("truncated")
    added.append(ROW)
    if _has_copies(run):
        added.append(COPY_OF_ROW)
    if explained:
        added.append(EXPLANATION)
    # Never overwrite an original column that happens to share a name.
    return header + [f"hrbatch_{name}" if name in taken else name for name in added]


def _truncates(run: Run) -> bool:
    """A run that scores the first part of rows too long for the model says which rows."""
    return run.intake.truncates


def iter_scored_rows(run: Run, *, excel: bool = False) -> Iterator[list[str]]:
    """The header, then one row per Item in the input's order; for Excel, every cell that
    is not a score is neutralised. Once candidates have been explained, an `explanation`
    column as in the shortlist and list downloads (review_rows)."""
    explained = newest_explanations(run)
    write = _RowWriter(run, excel=excel)
    yield scored_header(run, explained=bool(explained), jobs=write.jobs is not None)
    columns = [
        *("id", "custom_id", "input", "extra", "status", "result", "error", "job_id", "flags"),
        "line",
    ]
    # A copy names the row it repeats (a join only in a run that has copies).
    columns.append("copy_of__line" if write.copies else "copy_of_id")
    rows = (
        Item.objects.filter(run_id=run.pk)
        .order_by("line")
        .values_list(*columns)
        .iterator(chunk_size=2000)
    )
    for pk, custom_id, fields, extra, status, result, error, job_id, found, line, copy_of in rows:
        row = write(custom_id, fields, extra, status, result, error, job_id, found, line, copy_of)
        if explained:
            row.append(write.cell(explanation_text(explained.get(pk), write.criteria)))
        yield row


def newest_explanations(run: Run) -> dict[int, Explanation]:
    """The newest explanation of each explained candidate of the run, by Item id (few:
    explanations are asked for one candidate or one shortlist at a time)."""
    newest: dict[int, Explanation] = {}
    for explanation in Explanation.objects.filter(item__run_id=run.pk).order_by(
        "item_id", "-created_at", "-id"
    ):
        newest.setdefault(explanation.item_id, explanation)
    return newest


class _RowWriter:
    """One scored CSV row: the original columns, the job (a run with jobs), the scores,
    status and error (and rationale, truncated when the run has them)."""

    def __init__(self, run: Run, *, excel: bool) -> None:
        self.header = list(run.intake.header)
        # The jobs' names by id (None: the run has no jobs, and no job column).
        self.jobs: dict[int, str] | None = run.job_labels() or None
        self.id_column = run.intake.id_column
        self.criteria = run.rubric.criterion_keys if run.rubric else []
        self.rationale = bool(run.rubric and run.rubric.rationale)
        self.truncates = _truncates(run)
        self.copies = _has_copies(run)
        self.cell = neutralize_cell if excel else str

    def __call__(
        self,
        custom_id: str,
        fields: dict[str, Any],
        extra: dict[str, Any],
        status: str,
        result: dict[str, Any] | None,
        error: str,
        job_id: int | None = None,
        found: str = "",
        line: int | None = None,
        copy_of_line: int | None = None,
    ) -> list[str]:
        cell = self.cell
        values = {**extra, **fields}
        if self.id_column:
            values[self.id_column] = custom_id
        scores = (result or {}).get("scores", {})
        row = [cell(str(values.get(column, ""))) for column in self.header]
        if self.jobs is not None:
            row.append(self.job(job_id))
        row += [str(scores.get(key, "")) for key in self.criteria]
        if self.rationale:
            row.append(cell((result or {}).get("rationale", "")))
        row += [status, cell(error), found]
        if self.truncates:
            row.append("yes" if (result or {}).get("truncated") else "")
        row.append("" if line is None else str(line))
        if self.copies:
            row.append("" if copy_of_line is None else str(copy_of_line))
        return row

    def job(self, job_id: int | None) -> str:
        """The job's name in a cell ("" for a candidate without a job)."""
        return self.cell((self.jobs or {}).get(job_id, "") if job_id is not None else "")


REVIEW_COLUMNS = ["decision", "note", "decided_by", "decided_at", EXPLANATION]


def explanation_text(explanation: Any, criteria: Sequence[str]) -> str:
    """An Explanation in one cell: per criterion (in the rubric's order) its reason, the
    quote, and what the model would now score where that differs from the stored score."""
    if explanation is None:
        return ""
    parts = []
    for key in criteria:
        part = explanation.criteria.get(key)
        if part is None:
            continue
        text = f"{key}: {part.get('rationale', '')}"
        if part.get("evidence"):
            found = "" if part.get("evidence_found") else " (not in the text)"
            text += f' "{part["evidence"]}"{found}'
        if part.get("would_score") != part.get("stored_score"):
            text += f" [would now score {part.get('would_score')}]"
        parts.append(text)
    return f"{explanation.model}: " + " | ".join(parts)


def review_rows(run: Run, items: Iterable[Item], *, excel: bool = False) -> Iterator[list[str]]:
    """A shortlist or a filtered list in its order: a rank, the scored CSV's columns, then
    each candidate's decision and note, who made it and when."""
    write = _RowWriter(run, excel=excel)
    header = [*scored_header(run, jobs=write.jobs is not None), *_copy_rows_header(write)]
    taken = set(header)
    yield ["rank", *header, *(f"hrbatch_{c}" if c in taken else c for c in REVIEW_COLUMNS)]
    for rank, item in enumerate(items, start=1):
        yield [str(rank), *_review_row(write, item)]


def _copy_rows_header(write: _RowWriter) -> list[str]:
    return [COPY_ROWS] if write.copies else []


def _review_row(write: _RowWriter, item: Item) -> list[str]:
    """A candidate's scored CSV row (and its copies' rows, selectors.with_copies), then
    their decision and note, who made it and when."""
    row = write(
        item.custom_id,
        item.input,
        item.extra,
        item.status,
        item.result,
        item.error,
        item.job_id,
        item.flags,
        item.line,
        getattr(item, "copy_of_line", None),
    )
    if write.copies:
        row.append(", ".join(str(line) for line in getattr(item, "copy_rows", [])))
    decided_by = item.decided_by.get_username() if item.decided_by_id else ""
    decided_at = item.decided_at.isoformat(timespec="seconds") if item.decided_at else ""
    explained = next(iter(item.explanations.all()), None)  # newest first (prefetched)
    return [
        *row,
        item.decision,
        write.cell(item.note),
        decided_by,
        decided_at,
        write.cell(explanation_text(explained, write.criteria)),
    ]


# The per-job shortlist's columns after the candidate's: how many of the job's candidates
# were scored (and matched the filters), and how many more of them have the same scores as
# the job's last one in the list (the results page's "N more have the same scores").
JOB_SCORED = "scored_in_job"
JOB_TIED = "more_tied_with_last"


def job_shortlist_rows(
    run: Run,
    shortlists: Iterable[tuple[str, Iterable[Item], int, int]],
    *,
    excel: bool = False,
) -> Iterator[list[str]]:
    """Every job's shortlist in one table, job after job: the job first, then the rank
    within the job, the columns of a shortlist download (review_rows), and per job how
    many were scored and how many more are tied with its last candidate. `shortlists`:
    (job's name, its candidates in rank order, tied beyond, scored) per job."""
    write = _RowWriter(run, excel=excel)
    header = [*scored_header(run, jobs=False), *_copy_rows_header(write)]
    taken = set(header)
    named = [f"hrbatch_{c}" if c in taken else c for c in [JOB, *REVIEW_COLUMNS]]
    yield [named[0], "rank", *header, *named[1:], JOB_SCORED, JOB_TIED]
    # The job is the first column: the scored columns leave out their own.
    write.jobs = None
    for label, items, tied_beyond, scored in shortlists:
        for rank, item in enumerate(items, start=1):
            yield [
                write.cell(label),
                str(rank),
                *_review_row(write, item),
                str(scored),
                str(tied_beyond),
            ]


def delimiter_of(run: Run) -> str:
    """The separator of the uploaded file (comma for runs made before it was recorded)."""
    return run.intake.delimiter or ","


def iter_csv_bytes(run: Run, *, excel: bool = False) -> Iterator[bytes]:
    """The scored CSV as UTF-8 chunks, for a streamed download or a file."""
    yield from csv_chunks(
        iter_scored_rows(run, excel=excel), delimiter=delimiter_of(run), bom=excel
    )


def write_scored_csv(run: Run, target: Path, *, excel: bool = False) -> int:
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with open(partial, "wb") as out:
        for chunk in iter_csv_bytes(run, excel=excel):
            out.write(chunk)
            size += len(chunk)
    partial.replace(target)
    return size


def write_outputs(run: Run) -> File | None:
    """Write the run's output file(s); called once per finalisation (idempotent)."""
    if run.kind == Run.Kind.BATCH:
        return write_batch_outputs(run)
    base = Path(run.input_file.filename).stem or "candidates"
    filename = f"{base}-scored.csv"
    relative = Path("runs") / run.public_id / filename
    size = write_scored_csv(run, Path(settings.DATA_DIR) / relative)
    file, _ = File.objects.update_or_create(
        id=f"file-{run.public_id.removeprefix('batch_')}",
        defaults={
            "owner": run.owner,
            "purpose": File.Purpose.SCORED_CSV,
            "filename": filename,
            "path": str(relative),
            "bytes": size,
        },
    )
    return file


# --- API batches: output and error JSONL -------------------------------------------------

EXPIRED_MESSAGE = "This request was not executed before the batch's 24h completion window ended."
CANCELLED_MESSAGE = "The batch was cancelled before this request was executed."
# A failed request's line in the error file carries the HTTP answer OpenAI would have
# given (status, and an error body with type, code and param), found from Item.error:
# (substring of Item.error, status code, error type, code, param). Any other failure is
# the server's (500, server_error), after its retries.
_REFUSALS = (
    (TOO_LONG_MARK, 400, "invalid_request_error", "context_length_exceeded", "messages"),
    ("inputs are not supported", 400, "invalid_request_error", "unsupported_input", "messages"),
    ("Ollama refused the request", 400, "invalid_request_error", None, None),
)
# A request that never got an answer has no response: OpenAI's `error` says request_timeout.
TIMEOUT_MARK = "did not answer in time"


# --- Outputs -------------------------------------------------------------------------------


def write_batch_outputs(run: Run) -> File | None:
    """Write the batch's output and error JSONL files (write_outputs calls this).

    Every input line appears exactly once across the two files, in input order: done
    requests in the output file, failed, cancelled and expired ones in the error file.
    A file with no lines gets no File (OpenAI leaves its id null). Idempotent: the File
    ids derive from the batch id and each file is replaced atomically. Sets
    `run.error_file`; returns the output File (or None).
    """
    folder = Path(settings.DATA_DIR) / "runs" / run.public_id
    folder.mkdir(parents=True, exist_ok=True)
    expired = run.expired_at is not None
    targets: dict[str, _Target] = {}
    try:
        targets["output"] = _Target(run, "output", File.Purpose.BATCH_OUTPUT, folder)
        targets["error"] = _Target(run, "error", File.Purpose.BATCH_ERROR, folder)
        rows = (
            Item.objects.filter(run_id=run.pk)
            .order_by("line")
            .values_list("line", "custom_id", "status", "result", "error")
            .iterator(chunk_size=2000)
        )
        for line, custom_id, status, result, error in rows:
            line_id, request_id = _line_ids(run.public_id, line)
            if status == Item.Status.DONE:
                # The consistency sample's second answer stays in hrbatch (the batch's
                # metadata reports it): the body is the answer the request line asked for.
                body = {k: v for k, v in result.items() if k not in Item.RECHECK_KEYS}
                record = {
                    "id": f"batch_req_{line_id}",
                    "custom_id": custom_id,
                    "response": {"status_code": 200, "request_id": request_id, "body": body},
                    "error": None,
                }
                targets["output"].write(record)
                continue
            # The file is the API client's: it says what failed, not where the model
            # servers are (the Item keeps the whole message for staff).
            error = without_server_addresses(error)
            record = {
                "id": f"batch_req_{line_id}",
                "custom_id": custom_id,
                "response": _error_response(status, error, request_id),
            }
            record["error"] = (
                None if record["response"] else _line_error(status, error, expired=expired)
            )
            targets["error"].write(record)
        output = targets["output"].finish()
        error_file = targets["error"].finish()
    finally:
        for target in targets.values():
            target.discard()
    Run.objects.filter(pk=run.pk).update(output_file=output, error_file=error_file)
    run.output_file, run.error_file = output, error_file
    return output


def _error_response(status: str, error: str, request_id: str) -> dict[str, Any] | None:
    """The HTTP answer of a request that ran and failed, as OpenAI writes it; None for a
    request that never ran (cancelled, expired) or never got an answer (timed out)."""
    if status != Item.Status.FAILED or TIMEOUT_MARK in error:
        return None
    text = error or "The request failed."
    status_code, kind, code, param = 500, "server_error", None, None
    for mark, *answer in _REFUSALS:
        if mark in text:
            status_code, kind, code, param = answer
            break
    body = {"error": {"message": text, "type": kind, "param": param, "code": code}}
    return {"status_code": status_code, "request_id": request_id, "body": body}


def _line_error(status: str, error: str, *, expired: bool) -> dict[str, str]:
    if status == Item.Status.FAILED:  # timed out: no answer to show
        return {"code": "request_timeout", "message": error}
    # Cancelled (or, should a race leave one, still pending): never executed.
    code, default = (
        ("batch_expired", EXPIRED_MESSAGE) if expired else ("batch_cancelled", CANCELLED_MESSAGE)
    )
    message = default
    if error and error != default:
        message = f"{default} Its last attempt had failed: {error}"
    return {"code": code, "message": message}


def _line_ids(public_id: str, line: int) -> tuple[str, str]:
    """Stable ids for one line of the outputs, so that rewriting gives the same file."""
    digest = hashlib.sha256(f"{public_id}:{line}".encode()).hexdigest()
    return digest[:24], digest[24:56]


def _file_id(public_id: str, which: str) -> str:
    return "file-" + hashlib.sha256(f"{public_id}:{which}".encode()).hexdigest()[:24]


class _Target:
    """One JSONL file being written to a temporary name, renamed into place when done."""

    def __init__(self, run: Run, which: str, purpose: str, folder: Path):
        self.run = run
        self.purpose = purpose
        self.file_id = _file_id(run.public_id, which)
        self.filename = f"{run.public_id}_{which}.jsonl"
        self.path = folder / self.filename
        self.partial = folder / f"{self.filename}.partial"
        self.handle = open(self.partial, "wb")  # noqa: SIM115 - closed in finish/discard
        self.digest = hashlib.sha256()
        self.lines = 0
        self.size = 0

    def write(self, record: dict[str, Any]) -> None:
        data = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)
        self.lines += 1

    def finish(self) -> File | None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        if not self.lines:
            self.partial.unlink(missing_ok=True)
            self.path.unlink(missing_ok=True)
            File.objects.filter(id=self.file_id).delete()  # a rerun left nothing to report
            return None
        os.replace(self.partial, self.path)
        file, _ = File.objects.update_or_create(
            id=self.file_id,
            defaults={
                "owner": self.run.owner,
                "purpose": self.purpose,
                "filename": self.filename,
                "path": str(self.path.relative_to(Path(settings.DATA_DIR))),
                "bytes": self.size,
                "sha256": self.digest.hexdigest(),
            },
        )
        return file

    def discard(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        self.partial.unlink(missing_ok=True)


# --- CSV bytes (any rows: the scored CSV above, the web's rows-with-problems file) ----------


def csv_chunks(
    rows: Iterable[Sequence[Any]],
    *,
    delimiter: str = ",",
    bom: bool = False,
    chunk_bytes: int = 64 * 1024,
) -> Iterator[bytes]:
    """Rows written as CSV, in UTF-8 chunks of about `chunk_bytes` for a streamed response
    or a file. With `bom` the file is for Excel: a byte-order mark first so that Excel
    reads UTF-8, and every cell, the header's included, through csvio.neutralize_cell.
    Every download for Excel is written here, so none can leave a formula live (a column
    name or a job title is as much the uploader's text as a cell); without `bom`, every
    value goes out exactly as it came."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    if bom:
        yield "\ufeff".encode()
    for row in rows:
        if bom:
            row = [neutralize_cell("" if value is None else str(value)) for value in row]
        writer.writerow(row)
        if buffer.tell() >= chunk_bytes:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


# --- The run's report (selectors.run_report) as CSV rows ------------------------------------

REPORT_HEADER = [
    "section",
    "column",
    "group",
    "basis",
    "candidates",
    "selected",
    "selection_rate",
    "impact_ratio",
    "below_four_fifths",
    "left_out_of_ratios",
    "criterion",
    "value",
    # Blank for the run's figures; a job's name for that job's own (selectors.jobs_report).
    "job",
]


def report_rows(report: dict[str, Any]) -> Iterator[list[Any]]:
    """One table for every figure: the run, consistency per criterion, adverse impact per
    group and basis (with the mean of each criterion), and the score distributions; then
    the consistency and adverse impact of each job, with the job in the last column (or
    why a job has none: too few candidates)."""
    yield REPORT_HEADER
    blank = [""] * 9
    for key, value in report["run"].items():
        if isinstance(value, dict):  # the token figures: one plain cell each (tokens_prompt)
            for part, figure in value.items():
                yield ["run", *blank, f"{key}_{part}", figure, ""]
            continue
        shown = ", ".join(value) if isinstance(value, list) else value
        yield ["run", *blank, key, shown, ""]
    yield from _figure_rows(report["consistency"], report["impact"], job="")
    for name, counts in report["distributions"].items():
        for score, count in counts.items():
            yield ["distribution", *blank, name, f"{score}={count}", ""]
    for entry in report.get("jobs", []):
        job = entry["job"] or "(no job)"
        for key in ("candidates", "scored", "shortlist_size", "rescored"):
            yield ["job", *blank, key, entry[key], job]
        for key in ("consistency_note", "impact_note"):
            if entry.get(key):
                yield ["job", *blank, key, entry[key], job]
        consistency = entry["consistency"]
        yield from _figure_rows(consistency, entry["impact"] or [], job=job)


def _figure_rows(
    consistency: dict[str, Any] | None, impact: list[dict[str, Any]], *, job: str
) -> Iterator[list[Any]]:
    """The consistency and adverse-impact rows of the report, of the run or of one job."""
    blank = [""] * 9
    if consistency is not None:
        yield ["consistency", *blank, "sample", consistency["sample"], job]
        yield ["consistency", *blank, "crossing_cutoff", consistency.get("crossing_cutoff"), job]
        yield ["consistency", *blank, "reading", consistency.get("reading", ""), job]
        for name, figures in consistency["criteria"].items():
            for key, value in figures.items():
                yield ["consistency", *blank, name, f"{key}={value}", job]
    for r in impact:
        yield [
            "impact",
            r["column"],
            r["group"],
            r["basis"],
            r["count"],
            r["selected"],
            r["selection_rate"],
            "" if r["impact_ratio"] is None else r["impact_ratio"],
            "yes" if r["flag"] else "",
            "yes" if r["excluded"] else "",
            "",
            "",
            job,
        ]
        for name, mean in r["means"].items():
            yield [
                "impact_mean",
                r["column"],
                r["group"],
                r["basis"],
                r["count"],
                *[""] * 5,
                name,
                mean,
                job,
            ]
