"""Wide CSV files: refused past HRBATCH_MAX_COLUMNS at every door, checked in time linear
in the columns, and previewed within bounds whatever a row holds."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse

from devtools.fake_ollama import FakeOllama
from evaluations.intake import columns
from evaluations.models import File, Run
from tests.support.processes import ROOT, subprocess_env
from tests.support.runs import upload

pytestmark = pytest.mark.django_db(transaction=True)


def _wide_csv(path: Path, columns: int, rows: int = 3) -> Path:
    """An ID, the skills the AI reads, and a phone number after phone number (kept in the
    results only, as personal data)."""
    header = ["id", "skills"] + [f"phone_{n}" for n in range(2, columns)]
    lines = [",".join(header)]
    lines += [
        ",".join([f"C{r}", "Python"] + [f"555-{n:04d}" for n in range(2, columns)])
        for r in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form_as_shown(response: Any) -> dict[str, Any]:
    """What the browser sends when the person presses Start without changing anything."""
    form = response.context["form"]
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        if value not in (None, False, ""):
            data[name] = "on" if value is True else value
    return data


def test_a_file_wider_than_the_column_limit_is_refused_on_the_check_page(
    owner: Any, tmp_path: Path
) -> None:
    # 20,000 columns in a file of a few hundred KB, as the probe sent.
    file = upload(_wide_csv(tmp_path / "wide.csv", 20_000, rows=1), owner)
    client = _client(owner)

    page = client.get(reverse("web:prepare", args=[file.id]))

    assert page.status_code == 400
    text = page.content.decode()
    assert "This file has 20,000 columns; hrbatch reads files of at most 2,000 columns." in text
    assert "HRBATCH_MAX_COLUMNS" in text and "Upload another file" in text
    checks = client.get(reverse("web:check_rows", args=[file.id]), {"id_column": "id"})
    assert "This file has 20,000 columns" in checks.content.decode()
    assert not Run.objects.exists()


def test_a_file_at_the_column_limit_is_checked_and_started(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    file = upload(_wide_csv(tmp_path / "wide.csv", 2000), owner)
    client = _client(owner)
    url = reverse("web:prepare", args=[file.id])

    page = client.get(url)

    assert page.status_code == 200
    text = page.content.decode()
    assert "<dd>2000</dd>" in text
    assert text.count('<select name="role_') == 2000  # every column has its choice
    # The preview shows the first 50 columns and says where the others are.
    preview = text.split('class="table compact preview"', 1)[1].split("</thead>", 1)[0]
    assert preview.count("<th>") == 50
    assert "the 1950 more are listed under “What the AI may see”" in text

    form = _form_as_shown(page)
    query = {k: v for k, v in form.items() if k == "id_column" or k.startswith("role_")}
    checks = client.get(reverse("web:check_rows", args=[file.id]), query)
    assert checks.status_code == 200
    assert "Every row can be scored" in checks.content.decode()

    started = client.post(url, form)
    assert started.status_code == 302, started.content.decode()[:2000]
    run = Run.objects.get()
    assert run.status == Run.Status.COMPLETED and run.done_count == 3
    assert len(run.columns["roles"]) == 2000


def _check_page_counts(client: Client, file: File) -> tuple[int, int]:
    """(job_column_reasons computed, is_protected asked) while the check page is drawn."""
    with (
        mock.patch.object(columns, "job_column_reasons", wraps=columns.job_column_reasons) as job,
        mock.patch.object(columns, "is_protected", wraps=columns.is_protected) as protected,
    ):
        assert client.get(reverse("web:prepare", args=[file.id])).status_code == 200
    return job.call_count, protected.call_count


def test_the_check_page_reads_the_header_a_fixed_number_of_times_whatever_its_width(
    owner: Any, tmp_path: Path
) -> None:
    # Each column's reason once recomputed every column's (job_column_reasons): quadratic,
    # 190 s at 4,000 columns. Counted, not timed.
    client = _client(owner)
    narrow = upload(_wide_csv(tmp_path / "narrow.csv", 200), owner)
    wide = upload(_wide_csv(tmp_path / "wide.csv", 400), owner)

    narrow_header_reads, narrow_questions = _check_page_counts(client, narrow)
    wide_header_reads, wide_questions = _check_page_counts(client, wide)

    assert narrow_header_reads == wide_header_reads <= 2
    # Twice the columns, twice the questions about a column (not four times).
    assert wide_questions <= 2 * narrow_questions + 10, (narrow_questions, wide_questions)


def test_a_row_of_millions_of_values_makes_a_small_check_page(owner: Any, tmp_path: Path) -> None:
    source = tmp_path / "ragged.csv"
    long_value = "Python " * 2000
    source.write_text(
        f"id,skills,notes\nC1,Python,{long_value}\n" + ",".join(["ab"] * 3_000_000) + "\n"
    )
    file = upload(source, owner)

    page = _client(owner).get(reverse("web:prepare", args=[file.id]))

    assert page.status_code == 200
    text = page.content.decode()
    assert len(text) < 500_000, len(text)  # was 60 MB
    row = text.split('class="table compact preview"', 1)[1].split("</table>", 1)[0]
    assert row.count("<td") <= 2 * (3 + 1)  # two rows of a row number and 3 columns
    assert long_value not in text and "Python Python" in text  # cut, not dropped


@pytest.mark.slow
def test_evaluate_refuses_a_file_wider_than_the_limit_the_environment_sets(
    tmp_path: Path,
) -> None:
    with FakeOllama() as fake:
        env = subprocess_env(tmp_path, fake)
        wide = _wide_csv(tmp_path / "wide.csv", 20_000, rows=1)
        refused = subprocess.run(
            [sys.executable, "manage.py", "evaluate", str(wide), "--out", "x.csv"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "This file has 20,000 columns; hrbatch reads files of at most 2,000" in (
            refused.stderr
        )
        assert "Run " not in refused.stdout  # nothing was started

        # The limit is the IT colleague's: HRBATCH_MAX_COLUMNS.
        narrow = _wide_csv(tmp_path / "twelve.csv", 12)
        limited = {**env, "HRBATCH_MAX_COLUMNS": "10"}
        refused = subprocess.run(
            [sys.executable, "manage.py", "evaluate", str(narrow), "--out", "x.csv"],
            cwd=ROOT,
            env=limited,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert refused.returncode == 1
        assert re.search(
            r"has 12 columns; hrbatch reads files of at most 10 columns", refused.stderr
        )
        assert "HRBATCH_MAX_COLUMNS" in refused.stderr
