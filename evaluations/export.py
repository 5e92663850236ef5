"""Outputs: the scored CSV of a rubric run, streamed from the database in input order.

Two flavours, both with the upload's separator (a `;` file comes back with `;`, so the
Excel that saved it opens it in columns again):

- for Excel (`excel=True`): a byte-order mark, so Excel reads UTF-8, and every cell that a
  spreadsheet would run as a formula prefixed with `'` (csvio.neutralize_cell);
- plain, for other programs: every original value exactly as uploaded. This is also the
  file stored when a run finishes, which `evaluate --out` writes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

from .csvio import neutralize_cell
from .models import File, Item, Run

# The types stored files are served with. Never guessed from the name an uploader chose:
# a file named x.html must come back as a download, not as a page of this site.
MEDIA_TYPES = {".jsonl": "application/jsonl", ".csv": "text/csv; charset=utf-8"}


def media_type(filename: str) -> str:
    return MEDIA_TYPES.get(Path(filename).suffix.lower(), "application/octet-stream")


def scored_header(run: Run) -> list[str]:
    header = list(run.columns.get("header", []))
    taken = set(header)
    added = [*run.rubric.criterion_keys] if run.rubric else []
    if run.rubric and run.rubric.rationale:
        added.append("rationale")
    added += ["status", "error"]
    if _truncates(run):
        added.append("truncated")
    # Never overwrite an original column that happens to share a name.
    return header + [f"hrbatch_{name}" if name in taken else name for name in added]


def _truncates(run: Run) -> bool:
    """A run that scores the first part of rows too long for the model says which rows."""
    return run.columns.get("long_rows") == "truncate"


def iter_scored_rows(run: Run, *, excel: bool = False) -> Iterator[list[str]]:
    """The header, then one row per Item in the input's order; for Excel, every cell that
    is not a score is neutralised."""
    header = list(run.columns.get("header", []))
    id_column = run.columns.get("id_column")
    criteria = run.rubric.criterion_keys if run.rubric else []
    rationale = bool(run.rubric and run.rubric.rationale)
    truncates = _truncates(run)
    cell = neutralize_cell if excel else str
    yield scored_header(run)
    rows = (
        Item.objects.filter(run_id=run.pk)
        .order_by("line")
        .values_list("custom_id", "input", "extra", "status", "result", "error")
        .iterator(chunk_size=2000)
    )
    for custom_id, fields, extra, status, result, error in rows:
        values = {**extra, **fields}
        if id_column:
            values[id_column] = custom_id
        scores = (result or {}).get("scores", {})
        row = [cell(str(values.get(column, ""))) for column in header]
        row += [str(scores.get(key, "")) for key in criteria]
        if rationale:
            row.append(cell((result or {}).get("rationale", "")))
        row += [status, cell(error)]
        if truncates:
            row.append("yes" if (result or {}).get("truncated") else "")
        yield row


def delimiter_of(run: Run) -> str:
    """The separator of the uploaded file (comma for runs made before it was recorded)."""
    return run.columns.get("delimiter") or ","


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
        from .batches import write_batch_outputs

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


# --- CSV bytes (any rows: the scored CSV above, the web's rows-with-problems file) ----------


def csv_chunks(
    rows: Iterable[Sequence[Any]],
    *,
    delimiter: str = ",",
    bom: bool = False,
    chunk_bytes: int = 64 * 1024,
) -> Iterator[bytes]:
    """Rows written as CSV, in UTF-8 chunks of about `chunk_bytes` for a streamed response
    or a file; with `bom`, a byte-order mark first so that Excel reads UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    if bom:
        yield "\ufeff".encode()
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= chunk_bytes:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()
