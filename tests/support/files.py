"""Files the tests write and read: candidate CSVs, batch JSONL, scored output, the suite's
own fixtures (tests/fixtures/, written here) and the public data in ../shared/data (files
nobody here wrote; read only by `make test-public-data`)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluations.models import Run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _shared_data() -> Path:
    """../shared/data beside the project, or beside a folder holding it (a git worktree
    such as wt/NAME finds the shared data of the project's parent folder)."""
    project = Path(__file__).resolve().parents[2]
    for folder in project.parents:
        if (folder / "shared" / "data").is_dir():
            return folder / "shared" / "data"
    return project.parent / "shared" / "data"


SHARED_DATA = _shared_data()


def shared_data(name: str) -> Path:
    """A public file of ../shared/data: for tests/public_data only (`make test-public-data`);
    a clone of the repository has no ../shared beside it."""
    path = SHARED_DATA / name
    assert path.is_file(), f"{path} is missing: make test-public-data expects ../shared/data"
    return path


def fixture(name: str) -> Path:
    path = FIXTURES / name
    assert path.is_file(), path
    return path


def resumes() -> Path:
    """The 35-column résumé file (see tests/fixtures/README.md): the suite's own, shaped
    like the public `resume_data_97.csv` with every quirk of it; `make test-public-data`
    runs the tests marked `resumes35` again on the public file itself, named by
    HRBATCH_TEST_RESUMES."""
    chosen = os.environ.get("HRBATCH_TEST_RESUMES")
    return Path(chosen).resolve() if chosen else fixture("resumes_35_columns.csv")


def rows_of(path: Path) -> list[dict[str, str]]:
    """A CSV as Python's csv module reads it, the BOM some headers carry (at the start, or
    in the middle as in the résumé files) stripped by hand: something to check hrbatch
    against that it did not compute."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [{key.lstrip("\ufeff"): value for key, value in row.items()} for row in rows]


def resume_rows() -> list[dict[str, str]]:
    return rows_of(resumes())


def write_csv(
    path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8", delimiter: str = ","
) -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def candidates_csv(tmp_path: Path, n: int, *, seed: int = 0, name: str = "candidates.csv") -> Path:
    from devtools.synthetic import write_candidates_csv

    path = tmp_path / name
    write_candidates_csv(path, n, seed=seed)
    return path


def read_output(run: Run) -> list[dict[str, str]]:
    """The rows of a run's scored CSV."""
    assert run.output_file is not None, run.status_message
    return read_csv(Path(run.output_file.abspath))


def write_jsonl(path: Path, lines: list[dict[str, Any] | str]) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for line in lines:
            handle.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    return path


# --- Damaged UTF-8 as tools leave it -----------------------------------------------------

# Typed in a UTF-8 editor: an ñ, a middle dot and a non-breaking space (U+00A0).
VALID_UTF8 = "Peña Muñoz\u00a0· big data"
# Written by a Windows-1252 tool into a UTF-8 file: é, ’ and – as single bytes.
DAMAGE = {
    b"Fresher looking": b"Fresher (caf\xe9 owner\x92s son) looking",  # 2 bytes
    b"To obtain a position in a fast-paced": (
        b"To obtain a position \x96 r\xe9sum\xe9 attached \x96 in a fast-paced"
    ),  # 4
    b"Professional accountant": b"Professional accountant (Jos\xe9)",  # 1
}
DAMAGED_CHARS, DAMAGED_ROWS = 7, 3


def damaged_resume_csv(directory: Path, name: str = "resume_data_97.csv") -> Path:
    """The résumé file, edited by two tools: a UTF-8 editor typed `VALID_UTF8` into row 2,
    then a Windows-1252 tool wrote a few single bytes into rows 3, 5 and 6."""
    data = resumes().read_bytes()
    edits = {b"Big data analytics": VALID_UTF8.encode(), **DAMAGE}
    for before, after in edits.items():
        assert data.count(before) == 1, before
        data = data.replace(before, after)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(data)
    return path
