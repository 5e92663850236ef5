"""Copies of one candidate (issue 17, item 16): a file shaped like Kaggle's
UpdatedResumeDataSet.csv (Category + a multi-line Resume; 962 rows but 166 distinct résumés)
holds rows that repeat another one exactly or with other spacing and case.

The check page counts them and names their rows; each distinct candidate-and-job is sent to
the AI once and its copies take its scores (and its failure, and its retry); the results
and shortlists list distinct candidates with their copies' rows; every download carries the
row number of the uploaded file."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from devtools.fake_ollama import FakeOllama
from devtools.synthetic.resumes import resume_rows, write_resume_dataset
from evaluations import metrics, services
from evaluations.models import Item, Run
from tests.support.files import write_csv
from tests.support.runs import report_json, start_run, upload

pytestmark = pytest.mark.django_db(transaction=True)

CRITERIA = ["technical_skills", "communication", "cultural_fit", "leadership_potential", "overall"]


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def _firsts(rows: list[dict[str, str]], columns: tuple[str, ...]) -> dict[int, int]:
    """Each row's spreadsheet row number (header = 1) → the row of the first with the same
    text in `columns`, spacing and case aside: worked out here, apart from hrbatch."""
    first: dict[tuple[str, ...], int] = {}
    out = {}
    for number, row in enumerate(rows, start=2):
        key = tuple(_normal(row[c]) for c in columns)
        out[number] = first.setdefault(key, number)
    return out


@pytest.fixture
def resumes(tmp_path: Path) -> tuple[Path, list[dict[str, str]]]:
    """60 rows, 12 distinct résumés, exact and near copies."""
    rows = resume_rows(60, 12, seed=3, near=0.5)
    path = write_csv(tmp_path / "UpdatedResumeDataSet.csv", rows)
    return path, rows


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _csv(response: Any) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


# --- The check page --------------------------------------------------------------------------


def test_the_check_page_counts_the_copies_and_names_their_rows(
    owner: Any, resumes: tuple[Path, list[dict[str, str]]]
) -> None:
    path, rows = resumes
    firsts = _firsts(rows, ("Category", "Resume"))
    copies = {row: first for row, first in firsts.items() if row != first}
    assert len(copies) == 48  # the fixture: 60 rows, 12 distinct
    # Near copies are among them: not the same bytes, the same text spacing and case aside.
    assert any(
        rows[row - 2]["Resume"] != rows[first - 2]["Resume"] for row, first in copies.items()
    )

    file = upload(path, owner)
    client = _client(owner)
    page = client.get(
        reverse("web:check_rows", args=[file.id]), {"id_column": services.ROW_NUMBER}
    ).content.decode()
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "48 rows repeat an earlier row" in text, text
    assert "12 distinct candidates" in text
    # The first copies, each with the row it repeats.
    for row, first in list(copies.items())[:3]:
        assert f"row {row} repeats row {first}" in text

    # The same on a file with no copies: nothing said.
    single = write_csv(path.with_name("single.csv"), resume_rows(12, 12, seed=3))
    page = client.get(
        reverse("web:check_rows", args=[upload(single, owner).id]),
        {"id_column": services.ROW_NUMBER},
    ).content.decode()
    assert "repeat an earlier row" not in page and "Every row can be scored" in page


def test_evaluate_says_how_many_rows_are_copies_before_it_starts(
    engine_settings: Any, fake_ollama: FakeOllama, resumes: tuple[Path, list[dict[str, str]]]
) -> None:
    path, _ = resumes
    out = io.StringIO()
    call_command("evaluate", str(path), "--out", str(path.with_name("scored.csv")), stdout=out)
    said = out.getvalue()
    assert "48 rows repeat an earlier row" in said, said
    assert fake_ollama.chat_count == 12


# --- Scored once -------------------------------------------------------------------------


def test_each_distinct_candidate_is_sent_once_and_its_copies_take_its_scores(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, resumes: tuple[Path, Any]
) -> None:
    path, rows = resumes
    run = start_run(path, owner=owner, id_column=None)
    assert run.status == Run.Status.COMPLETED, run.status_message
    # 12 requests for 60 rows; every row counted as scored.
    assert fake_ollama.chat_count == 12
    assert (run.total_count, run.done_count, run.failed_count) == (60, 60, 0)

    firsts = _firsts(rows, ("Category", "Resume"))
    items = {item.line: item for item in Item.objects.filter(run=run)}
    for line, item in items.items():
        original = items[firsts[line]]
        assert item.status == Item.Status.DONE
        if line == firsts[line]:
            assert item.copy_of_id is None and item.prompt_tokens
        else:
            assert item.copy_of_id == original.pk
            assert item.scores == original.scores and item.scores
            assert item.prompt_tokens is None  # never sent
    # What each scored candidate cost the model: per candidate sent, not per row.
    sent = [i for i in items.values() if i.copy_of_id is None]
    assert run.prompt_tokens == sum(i.prompt_tokens for i in sent)
    figures = metrics.run_progress(run)
    assert figures["prompt_tokens_per_candidate"] == round(run.prompt_tokens / 12, 1)
    assert (figures["percent"], figures["copies"]) == (100.0, 48)
    # The run's figures count each candidate once: a copy is not another person.
    report = report_json(run)
    assert report["run"]["copies"] == 48 and report["run"]["scored"] == 60
    assert sum(report["distributions"]["overall"].values()) == 12
    assert report["run"]["shortlist_size"] == 2  # the best 10% of 12


def test_a_copy_fails_with_its_original_and_is_retried_with_it(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, resumes: tuple[Path, Any]
) -> None:
    path, _ = resumes
    fake_ollama.garbage_rate = 1.0  # every answer is invalid: every candidate fails
    run = start_run(path, owner=owner, id_column=None)
    assert run.status == Run.Status.COMPLETED and run.failed_count == 60, run.status_message
    attempts = int(engine_settings.HRBATCH["MAX_ATTEMPTS"])
    # The copies were never sent, in either pass (the end-of-run second pass included).
    assert fake_ollama.chat_count == 12 * attempts * 2
    for copy in Item.objects.filter(run=run, copy_of__isnull=False).select_related("copy_of"):
        assert copy.status == Item.Status.FAILED and copy.error == copy.copy_of.error

    fake_ollama.garbage_rate = 0.0
    fake_ollama.reset()
    assert services.run_retry_failed(run=run) == 60
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED, run.status_message
    assert (run.done_count, run.failed_count) == (60, 0)
    assert fake_ollama.chat_count == 12


def test_the_consistency_sample_is_drawn_from_distinct_candidates_never_a_copy(
    consistency: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path
) -> None:
    # 300 rows, 40 distinct: 2% of 300 is below the minimum of 20, so the sample is 20
    # candidates, all distinct ones.
    path = write_resume_dataset(tmp_path / "c.csv", 300, 40, seed=1)
    run = start_run(path, owner=owner, id_column=None)
    assert run.status == Run.Status.COMPLETED, run.status_message
    rechecked = Item.objects.filter(run=run, result__has_key=Item.RECHECK_SCORES)
    assert not rechecked.filter(copy_of__isnull=False).exists()
    assert rechecked.count() >= 20
    assert fake_ollama.chat_count == 40 + rechecked.count()


# --- Results and shortlists --------------------------------------------------------------


def test_the_shortlist_lists_distinct_candidates_with_their_copies_rows(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, resumes: tuple[Path, Any]
) -> None:
    path, rows = resumes
    run = start_run(path, owner=owner, id_column=None)
    firsts = _firsts(rows, ("Category", "Resume"))
    copies_of: dict[int, list[int]] = {}
    for row, first in firsts.items():
        if row != first:
            copies_of.setdefault(first, []).append(row)
    client = _client(owner)

    # The top 10: ten distinct candidates, each with its copies' rows.
    page = client.get(reverse("web:run_results", args=[run.public_id]), {"top": "10"})
    text = " ".join(re.sub(r"<[^>]+>", " ", page.content.decode()).split())
    shown = re.findall(r'<td class="num muted">(\d+)</td>', page.content.decode())
    assert len(shown) == 10 and len(set(shown)) == 10
    assert all(firsts[int(line)] == int(line) for line in shown)
    for line in shown:
        mine = copies_of.get(int(line), [])
        if mine:
            n = len(mine)
            rows_said = ", ".join(str(r) for r in mine[:5])
            assert (
                f"and {n} cop{'y' if n == 1 else 'ies'}: row{'s' if n > 1 else ''} {rows_said}"
                in text
            )

    # The whole list: one line per distinct candidate (60 rows, 12 candidates).
    page = client.get(reverse("web:run_results", args=[run.public_id])).content.decode()
    assert len(re.findall(r'<td class="num muted">(\d+)</td>', page)) == 12

    # The download: the same ten, their row numbers, and their copies' rows.
    listed = _csv(
        client.get(reverse("web:run_shortlist_download", args=[run.public_id]), {"top": "10"})
    )
    assert [r["row"] for r in listed] == shown
    assert [r["rank"] for r in listed] == [str(k) for k in range(1, 11)]
    for r in listed:
        assert r["copy_rows"] == ", ".join(str(c) for c in copies_of.get(int(r["row"]), []))


def test_a_search_for_a_copy_finds_it_even_when_its_first_row_is_filtered_out(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path
) -> None:
    # Two applications with the same résumé under different IDs (kept for results): a
    # search finds each by its own ID; unfiltered, the second is listed under the first.
    rows = [
        {"applicant_id": "A-1", "Resume": "Python, SQL; 5 years at Infosys."},
        {"applicant_id": "B-7", "Resume": "python,  SQL; 5 YEARS at Infosys. "},
        {"applicant_id": "C-3", "Resume": "Nurse; BLS."},
    ]
    run = start_run(write_csv(tmp_path / "c.csv", rows), owner=owner, id_column="applicant_id")
    assert run.done_count == 3, run.status_message
    client = _client(owner)
    url = reverse("web:run_results", args=[run.public_id])
    page = client.get(url).content.decode()
    assert ">A-1<" in page and ">C-3<" in page and ">B-7<" not in page
    assert "and 1 copy: row 3" in " ".join(re.sub(r"<[^>]+>", " ", page).split())
    page = client.get(url, {"q": "B-7"}).content.decode()
    assert ">B-7<" in page and "copy of row 2" in page


def test_the_per_job_shortlists_hold_distinct_candidates(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, resumes: tuple[Path, Any]
) -> None:
    path, rows = resumes
    run = start_run(path, owner=owner, id_column=None, roles={"Category": "job", "Resume": "model"})
    assert run.status == Run.Status.COMPLETED, run.status_message
    assert fake_ollama.chat_count == 12
    firsts = _firsts(rows, ("Category", "Resume"))
    client = _client(owner)
    listed = _csv(
        client.get(
            reverse("web:run_shortlist_per_job_download", args=[run.public_id]), {"top": "3"}
        )
    )
    assert listed and all(firsts[int(r["row"])] == int(r["row"]) for r in listed)
    # Each job's shortlist counts its distinct scored candidates.
    for r in listed:
        category = rows[int(r["row"]) - 2]["Category"]
        distinct = {firsts[n] for n in firsts if rows[n - 2]["Category"] == category}
        assert r["scored_in_job"] == str(len(distinct))


# --- The row number in every download ------------------------------------------------------


def test_every_download_carries_the_row_of_the_uploaded_file(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, resumes: tuple[Path, Any]
) -> None:
    path, rows = resumes
    run = start_run(path, owner=owner, id_column=None)
    firsts = _firsts(rows, ("Category", "Resume"))
    client = _client(owner)
    for excel in ("1", ""):
        scored = _csv(
            client.get(reverse("web:run_download", args=[run.public_id]), {"excel": excel})
        )
        assert [r["row"] for r in scored] == [str(n) for n in range(2, 62)]
        assert [r["Resume"] for r in scored] == [r["Resume"] for r in rows]
        # A copy names the row it repeats, whose scores it took.
        assert [r["copy_of_row"] for r in scored] == [
            "" if firsts[n] == n else str(firsts[n]) for n in range(2, 62)
        ]
        by_row = {r["row"]: r for r in scored}
        for r in scored:
            if r["copy_of_row"]:
                original = by_row[r["copy_of_row"]]
                assert [r[c] for c in CRITERIA] == [original[c] for c in CRITERIA]
    # The file stored when the run finished (what `evaluate --out` writes) too.
    with open(Path(run.output_file.abspath), encoding="utf-8", newline="") as handle:
        stored = list(csv.DictReader(handle))
    assert [r["row"] for r in stored] == [str(n) for n in range(2, 62)]
    # The list download, filtered: each candidate's row.
    listed = _csv(
        client.get(reverse("web:run_shortlist_download", args=[run.public_id]), {"sort": "line"})
    )
    assert [r["row"] for r in listed] == [str(n) for n in sorted(set(firsts.values()))]


def test_a_copys_page_says_whose_scores_it_took(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, resumes: tuple[Path, Any]
) -> None:
    path, _ = resumes
    run = start_run(path, owner=owner, id_column=None)
    copy = Item.objects.filter(run=run, copy_of__isnull=False).select_related("copy_of").first()
    client = _client(owner)
    page = client.get(reverse("web:item", args=[run.public_id, copy.pk])).content.decode()
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert f"A copy of row {copy.copy_of.line}" in text
    assert reverse("web:item", args=[run.public_id, copy.copy_of_id]) in page
    # The first row's page names its copies' rows.
    page = client.get(reverse("web:item", args=[run.public_id, copy.copy_of_id])).content.decode()
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    said = re.search(r"is also in (\d+) cop(?:y|ies): rows? ([\d, ]+)", text)
    copies = list(Item.objects.filter(copy_of=copy.copy_of_id).order_by("line"))
    assert said and int(said.group(1)) == len(copies), text
    assert said.group(2).rstrip(", ").split(", ")[:5] == [str(c.line) for c in copies][:5]


def test_rows_with_too_little_text_are_not_copies_of_one_another(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path
) -> None:
    # Placeholders say the same nothing in every row: those rows are not scored at all
    # (too_little_text), so they are not one candidate and its copies either.
    rows = [
        {"id": "e1", "Resume": "Not Provided"},
        {"id": "a1", "Resume": "Python, SQL; 5 years at Infosys."},
        {"id": "e2", "Resume": "N/A"},
        {"id": "a2", "Resume": "PYTHON,  SQL; 5 years at Infosys."},
        {"id": "e3", "Resume": "Not Provided"},
    ]
    path = write_csv(tmp_path / "c.csv", rows)
    page = (
        _client(owner)
        .get(reverse("web:check_rows", args=[upload(path, owner).id]), {"id_column": "id"})
        .content.decode()
    )
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "1 row repeats an earlier row" in text and "row 5 repeats row 3" in text, text
    assert "1 distinct candidate will be sent to the AI" in text

    run = start_run(path, owner=owner)
    assert run.status == Run.Status.COMPLETED, run.status_message
    items = {i.custom_id: i for i in Item.objects.filter(run=run)}
    assert items["a2"].copy_of_id == items["a1"].pk
    assert all(items[e].copy_of_id is None for e in ("e1", "e2", "e3"))
    assert {items[e].status for e in ("e1", "e2", "e3")} == {Item.Status.SKIPPED}
    assert (run.opts.copy_count, fake_ollama.chat_count) == (1, 1)
