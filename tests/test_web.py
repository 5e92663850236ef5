"""The web app through Django's test client: pages, access control, uploads, polling."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from devtools.fake_ollama import FakeOllama
from evaluations import metrics, services
from evaluations.models import File, Item, Run, RunColumns
from tests.support.files import VALID_UTF8, candidates_csv, damaged_resume_csv, resumes
from tests.support.runs import start_run

pytestmark = pytest.mark.django_db(transaction=True)

CRITERIA = ["technical_skills", "communication", "cultural_fit", "leadership_potential", "overall"]


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _upload(client: Client, name: str, content: bytes) -> Any:
    return client.post(reverse("web:upload"), {"file": _named(name, content)})


def _named(name: str, content: bytes) -> io.BytesIO:
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def test_every_page_requires_sign_in(client: Client) -> None:
    for url in ["/", "/runs/new/", "/rubrics/", "/runs/batch_x/", "/uploads/file-x/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_journey_upload_prepare_start_progress_results_download(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    client = _client(owner)
    source = candidates_csv(tmp_path, 30)

    response = _upload(client, "pool.csv", source.read_bytes())
    assert response.status_code == 302
    file = File.objects.get(owner=owner)
    assert response["Location"] == reverse("web:prepare", args=[file.id])

    page = client.get(response["Location"]).content.decode()
    assert "pool.csv" in page and "UTF-8" in page and "comma" in page
    assert "<dd>30</dd>" in page  # candidates counted
    assert page.count('<tr><td class="num muted">') == 20  # a 20-row preview
    assert 'value="id" selected' in page  # the ID column is guessed
    assert "gemma3:12b" in page and "llama3.2:3b" in page  # models from `ollama list`
    assert 'value="olivia@example.com"' in page  # notify the owner by default

    checks = client.get(reverse("web:check_rows", args=[file.id]), {"id_column": "id"})
    assert "Every row can be scored" in checks.content.decode()

    form = {
        "id_column": "id",
        "rubric": services.rubric_default().pk,
        "model": "gemma3:12b",
        "notify_email": "olivia@example.com",
    }
    header = next(csv.reader(io.StringIO(source.read_text())))
    for index, column in enumerate(header):
        form[f"role_{index}"] = services.default_roles(header, "id")[column]
    response = client.post(reverse("web:prepare", args=[file.id]), form)
    assert response.status_code == 302, response.context["form"].errors
    run = Run.objects.get(owner=owner)
    assert response["Location"] == reverse("web:run", args=[run.public_id])
    assert run.status == Run.Status.COMPLETED  # tasks run inline in these tests
    assert run.columns["roles"]["name"] == "audit" and run.columns["roles"]["skills"] == "model"

    page = client.get(response["Location"]).content.decode()
    assert "Finished" in page and "100.0%" in page and "Download scored CSV" in page
    assert "every 2s" not in page  # a finished run does not poll
    assert page.count('href="/runs/' + run.public_id + "/candidates/") == 30

    download = client.get(reverse("web:run_download", args=[run.public_id]))
    body = b"".join(download.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 30 and all(r["status"] == "done" for r in rows)
    assert all(1 <= int(r[key]) <= 10 for r in rows for key in ("overall", "communication"))
    excel = client.get(reverse("web:run_download", args=[run.public_id]), {"excel": "1"})
    assert b"".join(excel.streaming_content).startswith("\ufeff".encode())

    item = Item.objects.filter(run=run).first()
    assert item is not None
    detail = client.get(reverse("web:item", args=[run.public_id, item.pk]))
    text = detail.content.decode()
    assert "Exactly what the AI saw" in text and item.input["skills"] in text
    assert item.extra["email"] in text  # shown as kept out of the AI's view


def test_the_progress_fragment_polls_while_live_and_stops_when_the_run_ends(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    client = _client(owner)
    run = start_run(candidates_csv(tmp_path, 4), owner=owner, start=False)
    services.run_pause(run=run)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.IN_PROGRESS)
    url = reverse("web:run_progress", args=[run.public_id])

    live = client.get(url, headers={"HX-Request": "true"})
    assert 'hx-trigger="every 2s"' in live.content.decode()
    assert "HX-Trigger" not in live

    Run.objects.filter(pk=run.pk).update(status=Run.Status.COMPLETED)
    ended = client.get(url, headers={"HX-Request": "true"})
    assert "every 2s" not in ended.content.decode()
    assert ended["HX-Trigger"] == "run-ended"  # the page refreshes its results once


def test_an_outsider_gets_404_on_someone_elses_run_file_and_download(
    owner: Any, outsider: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 3), owner=owner)
    item = Item.objects.filter(run=run).first()
    assert item is not None
    client = _client(outsider)
    urls = [
        reverse("web:run", args=[run.public_id]),
        reverse("web:run_progress", args=[run.public_id]),
        reverse("web:run_results", args=[run.public_id]),
        reverse("web:run_download", args=[run.public_id]),
        reverse("web:item", args=[run.public_id, item.pk]),
        reverse("web:prepare", args=[run.input_file_id]),
        reverse("web:check_rows", args=[run.input_file_id]),
        reverse("web:rejected_rows", args=[run.input_file_id]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    for action in ("pause", "resume", "cancel", "retry-failed"):
        url = reverse("web:run_control", args=[run.public_id, action])
        assert client.post(url).status_code == 404
    assert run.public_id not in client.get("/").content.decode()


def test_staff_see_every_run_and_a_colleague_sees_only_their_own(
    owner: Any, colleague: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    mine = start_run(candidates_csv(tmp_path, 2), owner=owner)
    theirs = start_run(candidates_csv(tmp_path, 2, name="b.csv"), owner=colleague)
    page = _client(colleague).get("/").content.decode()
    assert theirs.public_id in page and mine.public_id not in page

    colleague.is_staff = True
    colleague.save()
    page = _client(colleague).get("/").content.decode()
    assert theirs.public_id in page and mine.public_id in page
    assert _client(colleague).get(f"/runs/{mine.public_id}/").status_code == 200


def test_an_upload_over_the_limit_is_refused_with_a_clear_message(
    owner: Any, settings: Any
) -> None:
    settings.HRBATCH_MAX_UPLOAD_BYTES = 10_000
    response = _upload(_client(owner), "big.csv", b"id,skills\n" + b"c,x\n" * 5000)

    assert response.status_code == 413
    text = response.content.decode()
    assert "the largest file hrbatch accepts is 0 MB" in text or "largest file" in text
    assert "HRBATCH_MAX_UPLOAD_MB" in text
    assert not File.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "phrase"),
    [
        ("empty.csv", b"", "empty"),
        ("book.xlsx", b"PK\x03\x04" + b"\x00" * 100, "Excel workbook"),
        ("header.csv", b"id,skills\n", "header row but no candidates"),
        ("scan.pdf", b"%PDF-1.7\n" + bytes(range(256)), "PDF"),
    ],
)
def test_a_bad_file_gets_its_clear_message_on_the_check_page(
    owner: Any, name: str, content: bytes, phrase: str
) -> None:
    client = _client(owner)
    response = _upload(client, name, content) if content else None
    if response is None:  # an empty upload is refused by the form itself
        response = client.post(reverse("web:upload"), {"file": _named(name, b"")})
        assert response.status_code == 400
        assert "empty" in response.content.decode()
        return
    page = client.get(response["Location"])
    assert page.status_code == 400
    assert phrase.lower() in page.content.decode().lower()
    assert "Upload another file" in page.content.decode()


def test_row_problems_are_listed_with_rows_and_can_be_downloaded_then_skipped(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama
) -> None:
    client = _client(owner)
    content = b"id,skills\nc1,Python\nc2,Go\nc1,Rust\n,Java\nc5,SQL\n"
    file_id = _upload(client, "dupes.csv", content)["Location"].split("/")[2]

    checks = client.get(reverse("web:check_rows", args=[file_id]), {"id_column": "id"})
    text = checks.content.decode()
    assert "2 rows have problems" in text
    assert "Row 4 has the same ID &#x27;c1&#x27; as row 2" in text
    assert "Row 5 has no value in the ID column" in text

    rejected = client.get(reverse("web:rejected_rows", args=[file_id]), {"id_column": "id"})
    rows = list(csv.reader(io.StringIO(b"".join(rejected.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["row", "problem", "id", "skills"]
    assert [(r[0], r[2], r[3]) for r in rows[1:]] == [("4", "c1", "Rust"), ("5", "", "Java")]

    form = {
        "id_column": "id",
        "rubric": services.rubric_default().pk,
        "model": "gemma3:12b",
        "notify_email": "",
        "role_1": "model",
        "skip_invalid": "on",
    }
    response = client.post(reverse("web:prepare", args=[file_id]), form)
    assert response.status_code == 302
    run = Run.objects.get(owner=owner)
    assert run.status == Run.Status.COMPLETED and run.total_count == 3
    page = client.get(response["Location"]).content.decode()
    assert "Rows left out" in page and "Row 4 has the same ID" in page


def test_starting_needs_at_least_one_column_for_the_ai(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama
) -> None:
    client = _client(owner)
    file_id = _upload(client, "c.csv", b"id,name\nc1,Ann\n")["Location"].split("/")[2]
    form = {"id_column": "id", "rubric": services.rubric_default().pk, "model": "gemma3:12b"}
    form["role_1"] = "audit"
    response = client.post(reverse("web:prepare", args=[file_id]), form)

    assert response.status_code == 400
    assert "Choose at least one column to show to the AI" in response.content.decode()
    assert not Run.objects.exists()


def test_results_sort_by_a_score_filter_by_status_and_shortlist_the_top(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 40), owner=owner)
    Item.objects.filter(run=run, line=7).update(status=Item.Status.FAILED, result=None)
    client = _client(owner)
    url = reverse("web:run_results", args=[run.public_id])

    def ids(**params: str) -> list[str]:
        page = client.get(url, params).content.decode()
        return [part.split('"')[0] for part in page.split("/candidates/")[1:]]

    by_overall = ids(sort="-overall")
    overall = {i.pk: i.scores.get("overall", 0) for i in Item.objects.filter(run=run)}
    values = [overall[int(pk.rstrip("/"))] for pk in by_overall if overall[int(pk.rstrip("/"))]]
    assert values == sorted(values, reverse=True) and len(by_overall) == 40
    assert len(ids(sort="-overall", top="10")) == 10
    assert len(ids(status="failed")) == 1


# --- results: the shortlist, who the candidate is, the downloads --------------------------


def _result_lines(page: str) -> list[int]:
    """The row numbers of the results table, top to bottom, as the page shows them."""
    table = page.split('<table class="table results">', 1)[1].split("</table>", 1)[0]
    return [int(line) for line in re.findall(r'<td class="num muted">(\d+)</td>', table)]


def _score(run: Run, line: int, overall: int, others: int | list[int]) -> None:
    keys = [k for k in run.rubric.criterion_keys if k != "overall"]
    values = others if isinstance(others, list) else [others] * len(keys)
    scores = {"overall": overall, **dict(zip(keys, values, strict=True))}
    Item.objects.filter(run=run, line=line).update(
        status=Item.Status.DONE, result={"scores": scores}, error=""
    )


def test_the_shortlist_ranks_the_best_candidates_not_the_first_rows_and_marks_ties(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 40), owner=owner)
    for line in range(2, 42):  # rows 2..41 of the file
        _score(run, line, 3, 3)
    # Five leaders far down the file: row 30 is ahead of the others on the other scores.
    for line in (20, 25, 30, 37, 41):
        _score(run, line, 10, 5)
    _score(run, 30, 10, [9, 9, 8, 9])
    # Thirteen candidates with exactly the same scores straddle the cut-off at 10.
    tied = [3, 5, 8, 10, 12, 14, 16, 18, 22, 24, 26, 28, 32]
    for line in tied:
        _score(run, line, 9, 6)
    # A failed candidate has no score and never makes a shortlist.
    Item.objects.filter(run=run, line=7).update(status=Item.Status.FAILED, result=None)
    client = _client(owner)
    url = reverse("web:run", args=[run.public_id])

    page = client.get(url, {"top": "10", "sort": "line"}).content.decode()

    assert _result_lines(page) == [30, 20, 25, 37, 41, *tied[:5]]
    assert (
        "Top 10 by overall score; ties broken by the average of the other scores, then by row"
        in page
    )
    assert "8 more candidates have the same scores as number 10" in page

    # Another score can be chosen; the overall score then counts among "the other scores".
    page = client.get(url, {"top": "5", "sort": "-communication"}).content.decode()
    communication = {
        i.line: i.scores["communication"] for i in Item.objects.filter(run=run, status="done")
    }
    assert communication[30] == 9
    assert _result_lines(page) == [30, *tied[:4]]
    assert "Top 5 by communication score" in page
    assert "9 more candidates have the same scores as number 5" in page

    # Sorting by a score heading (no shortlist) uses the same tie-breaks: all 39 scored
    # candidates, best first, then the failed one.
    page = client.get(url, {"sort": "-overall"}).content.decode()
    assert _result_lines(page)[:10] == [30, 20, 25, 37, 41, *tied[:5]]
    assert _result_lines(page)[-1] == 7 and len(_result_lines(page)) == 40


def test_filters_and_sorting_update_the_results_in_place_without_inline_script(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 12), owner=owner)
    client = _client(owner)
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()
    results_url = reverse("web:run_results", args=[run.public_id])

    assert "onchange=" not in page and "<script>" not in page.split("</head>", 1)[1]
    assert f'hx-get="{results_url}"' in page and 'hx-trigger="change"' in page
    assert f'hx-get="{results_url}?sort=-overall"' in page  # a score heading, in place

    partial = client.get(results_url, {"top": "10"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    # The address bar follows, so a reload or a shared link shows the same shortlist.
    url = reverse("web:run", args=[run.public_id])
    assert partial["HX-Push-Url"] == url + "?top=10&sort=-overall"


def test_the_results_show_who_the_candidate_is_and_the_ai_never_sees_it(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    source = candidates_csv(tmp_path, 8)
    header = next(csv.reader(io.StringIO(source.read_text())))
    roles = services.default_roles(header, "id")
    roles["position"] = services.ROLE_RESULTS  # kept for the results, not shown to the AI
    assert roles["name"] == services.ROLE_RESULTS
    run = start_run(source, owner=owner, roles=roles)
    assert run.status == Run.Status.COMPLETED

    page = _client(owner).get(reverse("web:run", args=[run.public_id])).content.decode()
    table = page.split('<table class="table results">', 1)[1].split("</table>", 1)[0]
    assert "name · email · phone · position" in table  # under the Candidate heading
    people = list(csv.DictReader(io.StringIO(source.read_text())))
    for person in people:
        assert escape(person["name"]) in table and escape(person["position"]) in table

    sent = json.dumps(fake_ollama.requests)
    assert len(fake_ollama.requests) == 8
    for person in people:
        for column in ("name", "email", "phone"):
            assert json.dumps(person[column])[1:-1] not in sent, column
        # A job title may well appear in a cover note; the column itself is never sent.
        assert json.dumps(f"position: {person['position']}")[1:-1] not in sent
    assert json.dumps("skills: ")[1:-1] in sent  # what the AI may see does reach it


def _download(client: Client, run: Run, **params: str) -> tuple[bytes, str]:
    response = client.get(reverse("web:run_download", args=[run.public_id]), params)
    assert response.status_code == 200
    return b"".join(response.streaming_content), response["Content-Disposition"]


def _semicolon_file(tmp_path: Path) -> Path:
    """The synthetic file as a European Excel saves it: `;`-separated, with cells a
    spreadsheet would take for formulas."""
    rows = list(csv.DictReader(io.StringIO(candidates_csv(tmp_path, 12).read_text())))
    rows[0]["skills"] = "=SUM(A1)"
    rows[1]["phone"] = "+44 20 1234"
    rows[2]["years_experience"] = "-5"
    rows[3]["cover_note"] = "@mention; a note with a semicolon"
    path = tmp_path / "bewerber.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_semicolon_file_comes_back_with_semicolons_and_the_plain_download_is_exact(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    source = _semicolon_file(tmp_path)
    original = list(csv.reader(io.StringIO(source.read_text()), delimiter=";"))
    client = _client(owner)
    file_id = _upload(client, source.name, source.read_bytes())["Location"].split("/")[2]
    assert "semicolon" in client.get(f"/uploads/{file_id}/").content.decode()
    form: dict[str, Any] = {"id_column": "id", "rubric": services.rubric_default().pk}
    form["model"] = "gemma3:12b"
    for index, column in enumerate(original[0]):
        form[f"role_{index}"] = services.default_roles(original[0], "id")[column]
    assert client.post(f"/uploads/{file_id}/", form).status_code == 302
    run = Run.objects.get(owner=owner)
    assert run.status == Run.Status.COMPLETED
    width = len(original[0])

    # For Excel: the byte-order mark, the upload's separator, and formulas defused.
    excel, _ = _download(client, run, excel="1")
    assert excel.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(excel.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:width] == original[0] and "overall" in rows[0]
    assert len(rows) == 13 and all(len(row) == len(rows[0]) for row in rows)
    by_id = {row[0]: row for row in rows[1:]}
    first, second, third, fourth = (by_id[original[i][0]] for i in range(1, 5))
    assert first[original[0].index("skills")] == "'=SUM(A1)"
    assert second[original[0].index("phone")] == "'+44 20 1234"
    assert third[original[0].index("years_experience")] == "-5"  # a number stays a number
    assert fourth[original[0].index("cover_note")] == "'@mention; a note with a semicolon"

    # For other programs: the same separator and every original value exactly as uploaded.
    plain, _ = _download(client, run)
    assert not plain.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(plain.decode("utf-8")), delimiter=";"))
    assert [row[:width] for row in rows] == original
    assert plain.splitlines()[0].decode().startswith("id;name;email;")

    # The file stored when the run finished (what `evaluate --out` copies) is the plain one.
    assert run.output_file is not None
    assert run.output_file.abspath.read_bytes() == plain


def test_the_rows_with_problems_of_a_semicolon_file_come_back_with_semicolons(
    owner: Any, tmp_path: Path
) -> None:
    client = _client(owner)
    content = b"id;skills;note\nc1;Python;=SUM(A1)\nc2;Go;x\nc1;Rust;+44 20 1234\n"
    file_id = _upload(client, "dupes.csv", content)["Location"].split("/")[2]

    response = client.get(reverse("web:rejected_rows", args=[file_id]), {"id_column": "id"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert rows[0] == ["row", "problem", "id", "skills", "note"]
    assert rows[1][0] == "4" and rows[1][2:] == ["c1", "Rust", "'+44 20 1234"]


@pytest.mark.resumes35
def test_the_resume_file_downloads_every_row_with_its_values_unchanged(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama
) -> None:
    source = resumes()
    with open(source, encoding="utf-8", newline="") as handle:
        original = list(csv.reader(handle))
    run = start_run(source, owner=owner, id_column=None)
    assert (run.status, run.done_count) == (Run.Status.COMPLETED, len(original) - 1)
    client = _client(owner)

    plain, disposition = _download(client, run)
    rows = list(csv.reader(io.StringIO(plain.decode("utf-8"))))
    assert len(rows) == len(original)
    # Every value as published (multi-line cells, list literals, empty cells) ...
    assert [row[:35] for row in rows[1:]] == original[1:]
    # ... under the column names as read (the stray mark inside the header is dropped).
    assert rows[0][:35] == [name.lstrip("\ufeff") for name in original[0]]
    assert all(1 <= int(row[rows[0].index("overall")]) <= 10 for row in rows[1:])
    assert f'filename="{source.stem}-scored.csv"' in disposition

    excel, _ = _download(client, run, excel="1")
    rows = list(csv.reader(io.StringIO(excel.decode("utf-8-sig"))))
    # Career objectives stay as text.
    assert len(rows) == len(original) and rows[1][1] == original[1][1]


@pytest.mark.resumes35
def test_the_resume_file_shortlists_the_best_and_shows_positions_the_ai_never_saw(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama
) -> None:
    source = resumes()
    with open(source, encoding="utf-8", newline="") as handle:
        original = list(csv.reader(handle))
    header = [name.lstrip("\ufeff") for name in original[0]]
    roles = services.default_roles(header, None)
    roles["positions"] = services.ROLE_RESULTS  # who they were, kept for the results only
    run = start_run(source, owner=owner, id_column=None, roles=roles)
    assert (run.status, run.done_count) == (Run.Status.COMPLETED, len(original) - 1)

    page = _client(owner).get(
        reverse("web:run", args=[run.public_id]), {"top": "10", "sort": "line"}
    )
    text = page.content.decode()
    # The ten best by overall, then the average of the other scores, then row.
    others = [k for k in run.rubric.criterion_keys if k != "overall"]
    ranked = sorted(
        Item.objects.filter(run=run),
        key=lambda i: (-i.scores["overall"], -sum(i.scores[k] for k in others), i.line),
    )
    assert _result_lines(text) == [i.line for i in ranked[:10]]
    assert "Top 10 by overall score" in text

    def scores(item: Item) -> tuple[int, int]:
        return item.scores["overall"], sum(item.scores[k] for k in others)

    tied = sum(1 for item in ranked[10:] if scores(item) == scores(ranked[9]))
    if tied:
        assert f"{tied} more candidate" in text and "the same scores as number 10" in text
    else:
        assert "the same scores as number 10" not in text

    # Each candidate's positions are shown beside the row number, never sent to the AI.
    column = header.index("positions")
    shown = [original[item.line - 1][column] for item in ranked[:10]]
    assert any(shown)
    for value in filter(None, shown):
        assert escape(value[:37]) in text
    lines = [
        line
        for request in fake_ollama.requests
        for message in request["messages"]
        for line in message["content"].splitlines()
    ]
    assert len(fake_ollama.requests) == len(original) - 1
    assert not any(line.startswith("positions:") for line in lines)
    assert any(line.startswith("career_objective:") for line in lines)


# --- run page figures ----------------------------------------------------------------------


def _facts(page: str) -> dict[str, str]:
    """The progress card's figures as the page shows them: {"Scored": "30 / 40", ...}."""
    card = page.split('id="progress"', 1)[1].split("</dl>", 1)[0]
    pairs = re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", card, re.S)
    return {name: " ".join(re.sub(r"<[^>]+>", "", value).split()) for name, value in pairs}


def test_the_run_page_says_reading_the_file_while_the_file_is_read(
    owner: Any, engine_settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)  # the file waits for a worker, as after an upload
    client = _client(owner)
    file_id = _upload(client, "pool.csv", candidates_csv(tmp_path, 5).read_bytes())["Location"]
    header = ["id", *candidates_csv(tmp_path, 1, name="h.csv").read_text().split(",")[1:10]]
    form: dict[str, Any] = {"id_column": "id", "rubric": services.rubric_default().pk}
    form["model"] = "gemma3:12b"
    for index, column in enumerate(header):
        form[f"role_{index}"] = services.default_roles(header, "id")[column]
    response = client.post(file_id, form)
    assert response.status_code == 302, response.content.decode()[-2000:]
    run = Run.objects.get(owner=owner)
    assert run.status == Run.Status.VALIDATING and run.total_count == 0

    page = client.get(response["Location"]).content.decode()
    facts = _facts(page)
    assert facts["Scored"] == "Reading the file…"
    assert "0 / 0" not in page
    assert facts["Speed"] == "—" and facts["Time left"] == "—"
    runs = client.get(reverse("web:runs")).content.decode()
    assert "Reading the file…" in runs and "0 / 0" not in runs


@pytest.fixture
def still_clock() -> Any:
    """The clock held still for a test that writes "N seconds ago" and reads the figures
    back: on a busy machine the moments between its own steps would count as run time."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def _running(run: Run, *, started: float, done: int, until: float) -> None:
    """The run as if it had started `started` seconds ago and scored `done` candidates
    evenly until `until` seconds ago (the engine records these same columns)."""
    now = timezone.now()
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.IN_PROGRESS,
        in_progress_at=now - timedelta(seconds=started),
        last_progress_at=now - timedelta(seconds=until),
        done_count=done,
    )
    step = (started - until) / done
    for index, item in enumerate(Item.objects.filter(run=run).order_by("line")[:done], start=1):
        Item.objects.filter(pk=item.pk).update(
            status=Item.Status.DONE,
            result={"scores": {"overall": 5}},
            finished_at=now - timedelta(seconds=started - index * step),
        )
    run.refresh_from_db()


def test_elapsed_time_and_speed_leave_out_the_time_a_run_was_paused(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, still_clock: Any
) -> None:
    run = start_run(candidates_csv(tmp_path, 40), owner=owner, start=False)
    # It scored 20 candidates in its first 40 seconds, then was paused for a minute.
    _running(run, started=100, done=20, until=60)
    assert services.run_pause(run=run)
    Run.objects.filter(pk=run.pk).update(paused_at=timezone.now() - timedelta(seconds=60))
    client = _client(owner)
    url = reverse("web:run", args=[run.public_id])

    paused = metrics.run_progress(Run.objects.get(pk=run.pk))
    assert paused["elapsed_seconds"] == 40  # the clock stopped when it was paused
    assert paused["throughput_per_sec"] == 0.5  # 20 in 40 s, not 20 in 100 s
    assert _facts(client.get(url).content.decode())["Elapsed"] == "40 s"

    assert services.run_resume(run=Run.objects.get(pk=run.pk))  # the other 20, at once
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED
    ended = metrics.run_progress(run)
    assert 40 <= ended["elapsed_seconds"] <= 42  # 40 s before the pause, ~0 s after
    assert ended["throughput_per_sec"] >= 40 / 42
    assert _facts(client.get(url).content.decode())["Elapsed"] in ("40 s", "41 s", "42 s")


def test_after_a_cancel_the_speed_is_the_rate_over_the_time_the_run_actually_ran(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, still_clock: Any
) -> None:
    run = start_run(candidates_csv(tmp_path, 40), owner=owner, start=False)
    # 9 candidates scored over 20 seconds, right up to the moment someone pressed Cancel,
    # and a 10th still with the model then: the 30 others are cancelled at once (that
    # moment is their end), the 10th is scored a moment later and the run ends.
    _running(run, started=20, done=9, until=0)
    in_flight = Item.objects.filter(run=run, status=Item.Status.PENDING).order_by("line")[0]
    Item.objects.filter(pk=in_flight.pk).update(
        lease_token="worker-1", lease_until=timezone.now() + timedelta(seconds=60)
    )
    assert services.run_cancel(run=run)
    assert Run.objects.get(pk=run.pk).status == Run.Status.CANCELLING
    Item.objects.filter(pk=in_flight.pk).update(
        status=Item.Status.DONE, lease_token=None, finished_at=timezone.now()
    )
    Run.objects.filter(pk=run.pk).update(done_count=10, last_progress_at=timezone.now())
    assert services.runs.run_finalize_if_done(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.done_count, run.cancelled_count) == (Run.Status.CANCELLED, 10, 30)

    figures = metrics.run_progress(run)
    assert figures["throughput_per_sec"] == 0.5  # 10 in 20 s: cancelled rows are not speed
    assert figures["elapsed_seconds"] == 20
    page = _client(owner).get(reverse("web:run", args=[run.public_id])).content.decode()
    assert _facts(page)["Speed"] == "0.5 per second" and _facts(page)["Elapsed"] == "20 s"

    # Elapsed stops at the end: the same figures a minute later.
    Run.objects.filter(pk=run.pk).update(
        in_progress_at=F("in_progress_at") - timedelta(seconds=60),
        cancelled_at=F("cancelled_at") - timedelta(seconds=60),
    )
    assert metrics.run_progress(Run.objects.get(pk=run.pk))["elapsed_seconds"] == 20


def test_a_run_paused_then_cancelled_counts_only_the_time_it_ran(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path, still_clock: Any
) -> None:
    run = start_run(candidates_csv(tmp_path, 20), owner=owner, start=False)
    _running(run, started=300, done=10, until=280)  # 10 in 20 s, then paused for 280 s
    assert services.run_pause(run=run)
    Run.objects.filter(pk=run.pk).update(paused_at=timezone.now() - timedelta(seconds=280))
    assert services.run_cancel(run=Run.objects.get(pk=run.pk))

    figures = metrics.run_progress(Run.objects.get(pk=run.pk))
    assert figures["elapsed_seconds"] == 20
    assert figures["throughput_per_sec"] == 0.5


# --- run names -----------------------------------------------------------------------------


def _start_from_check_page(client: Client, file_id: str, **fields: str) -> Any:
    header = ["id", "name", "email", "phone", "position", "years_experience", "skills"]
    header += ["education", "work_history", "cover_note"]
    form: dict[str, Any] = {"id_column": "id", "rubric": services.rubric_default().pk}
    form["model"] = "gemma3:12b"
    for index, column in enumerate(header):
        form[f"role_{index}"] = services.default_roles(header, "id")[column]
    return client.post(reverse("web:prepare", args=[file_id]), {**form, **fields})


def test_a_run_is_named_on_the_check_page_and_two_uploads_of_one_file_differ(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    client = _client(owner)
    content = candidates_csv(tmp_path, 6).read_bytes()

    first = _upload(client, "pool.csv", content)["Location"].split("/")[2]
    page = client.get(reverse("web:prepare", args=[first])).content.decode()
    assert '<label for="id_name">Run name</label>' in page
    assert 'name="name" value="pool.csv"' in page  # the file name by default
    response = _start_from_check_page(client, first, name="pool.csv")
    assert response.status_code == 302
    assert Run.objects.get(owner=owner).name == "pool.csv"

    # The same file again: the suggested name already tells the two runs apart ...
    second = _upload(client, "pool.csv", content)["Location"].split("/")[2]
    page = client.get(reverse("web:prepare", args=[second])).content.decode()
    assert 'name="name" value="pool.csv (2)"' in page
    # ... and the person can call it what they like.
    response = _start_from_check_page(client, second, name="  March intake, data team  ")
    assert response.status_code == 302
    run = Run.objects.get(owner=owner, input_file_id=second)
    assert run.name == "March intake, data team"

    runs = client.get(reverse("web:runs")).content.decode()
    assert "March intake, data team" in runs and ">pool.csv</a>" in runs
    page = client.get(response["Location"]).content.decode()
    assert "<title>March intake, data team · hrbatch</title>" in page
    assert "<h1>March intake, data team</h1>" in page
    _, disposition = _download(client, run, excel="1")
    assert 'filename="march-intake-data-team-scored.csv"' in disposition


def test_a_run_is_renamed_on_its_page_through_the_service(
    owner: Any, outsider: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 3, name="pool.csv"), owner=owner)
    client = _client(owner)
    url = reverse("web:run", args=[run.public_id])
    page = client.get(url).content.decode()
    rename = reverse("web:run_rename", args=[run.public_id])
    assert f'action="{rename}"' in page and 'value="pool.csv"' in page

    page = client.post(rename, {"name": "Shortlist v2.1 (final)"}, follow=True).content.decode()
    assert "Renamed to “Shortlist v2.1 (final)”." in page
    assert Run.objects.get(pk=run.pk).name == "Shortlist v2.1 (final)"
    _, disposition = _download(client, run)
    assert 'filename="shortlist-v21-final-scored.csv"' in disposition

    page = client.post(rename, {"name": "   "}, follow=True).content.decode()
    assert "Give the run a name" in page
    assert Run.objects.get(pk=run.pk).name == "Shortlist v2.1 (final)"

    assert _client(outsider).post(rename, {"name": "mine now"}).status_code == 404
    assert client.get(rename).status_code == 405
    assert Run.objects.get(pk=run.pk).name == "Shortlist v2.1 (final)"


def test_pause_resume_cancel_and_retry_buttons_call_the_services(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    client = _client(owner)
    run = start_run(candidates_csv(tmp_path, 5), owner=owner, start=False)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.IN_PROGRESS)

    def act(action: str) -> str:
        url = reverse("web:run_control", args=[run.public_id, action])
        return client.post(url, follow=True).content.decode()

    assert "Paused" in act("pause")
    assert Run.objects.get(pk=run.pk).status == Run.Status.PAUSED
    assert "Resumed" in act("resume")
    assert Run.objects.get(pk=run.pk).status == Run.Status.COMPLETED

    failed = start_run(candidates_csv(tmp_path, 3, name="f.csv"), owner=owner, start=False)
    fake_ollama.error_rate = 1.0
    services.runs.run_start(run=failed)
    fake_ollama.error_rate = 0.0
    run = failed
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()
    assert "Retry 3 failed" in page
    assert "Trying 3 failed candidates again" in act("retry-failed")
    assert Run.objects.get(pk=run.pk).done_count == 3

    third = start_run(candidates_csv(tmp_path, 3, name="g.csv"), owner=owner, start=False)
    run = third
    assert "Cancelled" in act("cancel")
    assert Run.objects.get(pk=run.pk).status == Run.Status.CANCELLED


def test_staff_editing_a_used_rubric_in_the_browser_creates_a_new_version(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    owner.is_staff = True  # only staff change shared rubrics (see tests/test_rubrics.py)
    owner.save(update_fields=["is_staff"])
    start_run(candidates_csv(tmp_path, 2), owner=owner)
    rubric = services.rubric_default()
    client = _client(owner)
    page = client.get(reverse("web:rubric", args=[rubric.pk])).content.decode()
    assert "Technical skills" in page and "creates version 2" in page

    form: dict[str, Any] = {
        "name": rubric.name,
        "instructions": rubric.instructions + " Be strict.",
        "rationale": "on",
    }
    for index, criterion in enumerate(rubric.criteria):
        form[f"c-{index}-key"] = criterion["key"]
        form[f"c-{index}-label"] = criterion["label"]
        form[f"c-{index}-description"] = criterion["description"]
        for level, text in criterion["anchors"].items():
            form[f"c-{index}-a{level}"] = text
    form["c-5-key"] = "customer_focus"
    form["c-5-label"] = "Customer focus"
    response = client.post(reverse("web:rubric_edit", args=[rubric.pk]), form, follow=True)

    assert "Saved as version 2" in response.content.decode()
    newer = services.rubric_default()
    assert newer.version == 2 and newer.rationale
    assert newer.criterion_keys[-1] == "customer_focus"
    assert services.rubric_get(rubric.name).pk == newer.pk


# --- text encoding: damaged UTF-8 keeps its valid characters -----------------------------


def _check_page_upload(client: Client, path: Path) -> File:
    response = _upload(client, path.name, path.read_bytes())
    assert response.status_code == 302
    return File.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[-1])


@pytest.mark.resumes35
def test_the_check_page_counts_unreadable_characters_and_previews_another_encoding(
    owner: Any, tmp_path: Path
) -> None:
    client = _client(owner)
    file = _check_page_upload(client, damaged_resume_csv(tmp_path))

    page = client.get(reverse("web:prepare", args=[file.id])).content.decode()

    assert "7 characters in 3 rows could not be read and show as \ufffd." in page
    assert "Rows 3, 5, 6." in page
    assert VALID_UTF8[:20] in page  # the valid ñ, NBSP and · as typed
    assert '<select name="encoding" id="id_encoding"' in page
    assert "Automatic (found: UTF-8)" in page and "Windows-1252" in page
    assert 'hx-get="' + reverse("web:encoding_preview", args=[file.id]) in page

    preview = reverse("web:encoding_preview", args=[file.id])
    as_cp1252 = client.get(preview, {"encoding": "cp1252"}).content.decode()
    assert "PeÃ±a MuÃ±oz" in as_cp1252 and "Read as Windows-1252" in as_cp1252
    assert "could not be read" not in as_cp1252 and "<script" not in as_cp1252
    as_utf8 = client.get(preview, {"encoding": "utf-8"}).content.decode()
    assert VALID_UTF8[:20] in as_utf8 and "7 characters in 3 rows" in as_utf8


@pytest.mark.resumes35
def test_a_damaged_utf8_file_is_scored_whole_and_downloads_its_valid_characters(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    from evaluations import csvio

    client = _client(owner)
    file = _check_page_upload(client, damaged_resume_csv(tmp_path))
    expected = csvio.count_records(file.abspath, csvio.sniff(file.abspath))

    # No ID column in this file: rows are numbered (the check page's "Row number").
    run = services.runs.run_create(owner=owner, input_file=file, intake=RunColumns(id_column=None))

    run.refresh_from_db()
    assert (run.status, run.done_count, run.total_count) == (
        Run.Status.COMPLETED,
        expected,
        expected,
    )
    assert run.options["rejected_count"] == 0 and run.errors == []
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()
    assert "7 characters in 3 rows could not be read and show as \ufffd." in page
    assert Item.objects.get(run=run, line=2).input["career_objective"].startswith(VALID_UTF8)
    assert any(VALID_UTF8 in m["content"] for r in fake_ollama.requests for m in r["messages"])
    download = client.get(reverse("web:run_download", args=[run.public_id]))
    body = b"".join(download.streaming_content).decode("utf-8")
    assert VALID_UTF8 in body and "Fresher (caf\ufffd owner\ufffds son)" in body
    assert "Ã" not in body.replace("Ã¯Â¼", "")  # no mojibake added (the source has its own)


def test_the_encoding_chosen_on_the_check_page_is_what_the_run_reads(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    source = candidates_csv(tmp_path, 4)
    text = source.read_text(encoding="utf-8").splitlines(keepends=True)
    text[1] = text[1].replace(",", ",Señora ", 1)  # row 2's name, in valid UTF-8
    source.write_text("".join(text), encoding="utf-8")
    client = _client(owner)
    file = _check_page_upload(client, source)
    preview = client.get(
        reverse("web:encoding_preview", args=[file.id]), {"encoding": "cp1252"}
    ).content.decode()
    assert "SeÃ±ora" in preview  # what a person sees before choosing it

    form = {"id_column": "id", "rubric": services.rubric_default().pk, "model": "gemma3:12b"}
    header = next(csv.reader(io.StringIO(source.read_text())))
    for index, column in enumerate(header):
        form[f"role_{index}"] = "model" if column != "id" else "id"
    form["encoding"] = "cp1252"
    response = client.post(reverse("web:prepare", args=[file.id]), form)

    assert response.status_code == 302, response.content.decode()[-2000:]
    run = Run.objects.get(owner=owner)
    assert run.columns["encoding"] == "cp1252"
    assert Item.objects.get(run=run, line=2).input["name"].startswith("SeÃ±ora")


# --- the check page and Start (issue 7: items 1, 3, 4) -----------------------------------


def _file_id(response: Any) -> str:
    return str(response["Location"]).split("/")[2]


def _form_as_shown(response: Any) -> dict[str, Any]:
    """What the browser would send if the person pressed Start without changing anything."""
    form = response.context["form"]
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        if value in (None, False, ""):
            continue
        data[name] = "on" if value is True else value
    return data


def _download_rows(client: Client, run: Run) -> list[dict[str, str]]:
    response = client.get(reverse("web:run_download", args=[run.public_id]))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def _original(value: str) -> str:
    # The download guards cells that a spreadsheet would run as formulas with a "'".
    return value[1:] if value.startswith("'") else value


@pytest.mark.resumes35
def test_the_resume_file_without_an_id_column_starts_as_it_is_and_downloads_complete(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama
) -> None:
    source = resumes()
    with open(source, encoding="utf-8", newline="") as handle:
        original = list(csv.reader(handle))
    client = _client(owner)
    response = _upload(client, source.name, source.read_bytes())
    prepare = client.get(response["Location"])
    page = prepare.content.decode()
    assert prepare.status_code == 200
    assert f"<dd>{len(original) - 1}</dd>" in page and "<dd>35</dd>" in page
    # No column is an ID: the rows are numbered, and that is a real, selected choice.
    assert f'value="{services.ROW_NUMBER}" selected' in page

    checks = client.get(
        reverse("web:check_rows", args=[_file_id(response)]),
        {"id_column": services.ROW_NUMBER},
    )
    assert "Every row can be scored" in checks.content.decode()

    started = client.post(response["Location"], _form_as_shown(prepare))
    assert started.status_code == 302, started.content.decode()[:3000]
    run = Run.objects.get(owner=owner)
    assert run.status == Run.Status.COMPLETED and run.total_count == len(original) - 1
    assert run.columns["id_column"] is None

    header = [name.lstrip("\ufeff") for name in original[0]]
    rows = _download_rows(client, run)
    assert len(rows) == len(original) - 1
    assert list(rows[0])[: len(header)] == header  # every original column, in order
    for line, (values, row) in enumerate(zip(original[1:], rows, strict=True), start=2):
        assert [_original(row[name]) for name in header] == values, f"row {line}"
        assert row["status"] == "done"
        assert all(1 <= int(row[key]) <= 10 for key in CRITERIA)


def test_every_refusal_of_start_is_shown_next_to_its_field_and_keeps_the_choices(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama
) -> None:
    client = _client(owner)
    response = _upload(client, "pool.csv", b"ref,name,skills,notes\nr1,Ann,Python,x\n")
    url = response["Location"]
    form = {
        "id_column": "",  # what the old page sent for "Row number"
        "rubric": services.rubric_default().pk,
        "model": "gemma3:12b",
        "role_1": "audit",
        "role_2": "model",
        "role_3": "ignore",
    }
    refused = client.post(url, form)
    page = refused.content.decode()
    assert refused.status_code == 400
    assert not Run.objects.exists()
    field = page.split('id="field-id_column"', 1)[1].split("</div>", 1)[0]
    assert "Choose the column with the candidate ID, or Row number" in field
    # What the person chose is still chosen.
    assert '<option value="ignore" selected>' in page.split('name="role_3"', 1)[1][:400]
    assert '<option value="audit" selected>' in page.split('name="role_1"', 1)[1][:400]
    assert 'href="#field-id_column"' in page  # the summary at the top links to the field

    form["id_column"] = services.ROW_NUMBER
    form["role_2"] = "audit"
    refused = client.post(url, form)
    page = refused.content.decode()
    assert refused.status_code == 400
    roles = page.split('id="field-roles"', 1)[1].split("</table>", 1)[0]
    assert "Choose at least one column to show to the AI" in roles

    form["role_2"] = "model"
    assert client.post(url, form).status_code == 302
    assert Run.objects.get().columns["id_column"] is None


def test_an_upload_never_started_is_listed_and_can_be_continued_or_deleted(
    owner: Any, outsider: Any, colleague: Any
) -> None:
    client = _client(owner)
    response = _upload(client, "march-pool.csv", b"id,skills\nc1,Python\n")
    file = File.objects.get()
    runs = client.get("/").content.decode()
    assert "Not started" in runs and "march-pool.csv" in runs
    assert f'href="{response["Location"]}"' in runs  # continue: back to its check page
    assert "No runs yet" not in runs

    assert "march-pool.csv" not in _client(outsider).get("/").content.decode()
    delete = reverse("web:upload_delete", args=[file.id])
    assert _client(outsider).post(delete).status_code == 404
    assert _client(owner).get(delete).status_code == 405  # deleting needs a POST
    colleague.is_staff = True
    colleague.save()
    assert "march-pool.csv" in _client(colleague).get("/").content.decode()

    assert file.abspath.exists()
    deleted = client.post(delete, follow=True)
    assert "march-pool.csv was deleted" in deleted.content.decode()
    assert not file.abspath.exists()
    assert File.objects.get().deleted_at is not None
    assert "march-pool.csv" not in client.get("/").content.decode()
    assert client.get(response["Location"]).status_code == 404


def test_duplicate_ids_block_start_with_the_reason_and_the_two_ways_out(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama
) -> None:
    client = _client(owner)
    content = b"id,skills\nc1,Python\nc2,Go\nc1,Rust\n,Java\nc5,SQL\nc2,C\n"
    response = _upload(client, "dupes.csv", content)
    url = response["Location"]
    form = {
        "id_column": "id",
        "rubric": services.rubric_default().pk,
        "model": "gemma3:12b",
        "role_1": "model",
    }
    refused = client.post(url, form)
    page = refused.content.decode()
    assert refused.status_code == 400
    assert not Run.objects.exists()  # no run that fails at once with an empty download
    field = page.split('id="field-id_column"', 1)[1].split("</div>", 1)[0]
    assert "3 rows have a duplicate or missing ID in &#x27;id&#x27;" in field
    assert "row 4" in field and "row 5" in field and "row 7" in field
    assert "choose another ID column or Row number" in field
    assert "tick “Leave out rows with problems”" in field

    # The same file through the service: the CLI gets the same answer.
    check = services.file_check(input_file=File.objects.get(), intake=RunColumns(id_column="id"))
    refusals = check.refusals(skip_invalid=False, door="cli")
    assert "3 rows have a duplicate or missing ID in 'id'" in refusals["id_column"]

    # Way out 1: number the rows instead.
    started = client.post(url, {**form, "id_column": services.ROW_NUMBER})
    assert started.status_code == 302
    assert Run.objects.get().total_count == 6
    # Way out 2: leave those rows out.
    started = client.post(url, {**form, "skip_invalid": "on"})
    assert started.status_code == 302
    assert Run.objects.order_by("-pk").first().total_count == 3  # type: ignore[union-attr]


def _long_rows_file(client: Client) -> Any:
    rows = ["id,position,cover_note"] + [
        f"c{i},Analyst,{'I like data. ' * (3000 if i == 2 else 3)}" for i in range(1, 5)
    ]
    return _upload(client, "long.csv", ("\n".join(rows) + "\n").encode())


def test_a_row_too_long_for_the_model_is_flagged_on_the_check_page_in_plain_words(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama
) -> None:
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "MAX_NUM_CTX": 4096}
    client = _client(owner)
    response = _long_rows_file(client)
    limit = services.ingest.candidate_chars_limit(rubric=services.rubric_default())
    chars = len("position: Analyst\ncover_note: " + "I like data. " * 3000)
    about = f"{limit // 100 * 100:,}"

    checks = client.get(
        reverse("web:check_rows", args=[_file_id(response)]),
        {"id_column": "id", "role_1": "model", "role_2": "model"},
    ).content.decode()
    assert (
        f"Row 3 is too long for the AI model: {chars:,} characters; the model can read about "
        f"{about}." in checks
    )
    assert "Every row can be scored" not in checks
    assert "num_ctx" not in checks and "HRBATCH" not in checks
    assert "Leave these rows out" in checks
    assert f"Score their first {about} characters" in checks

    form = {
        "id_column": "id",
        "rubric": services.rubric_default().pk,
        "model": "gemma3:12b",
        "role_1": "model",
        "role_2": "model",
    }
    refused = client.post(response["Location"], form)
    assert refused.status_code == 400 and not Run.objects.exists()
    field = refused.content.decode().split('id="field-long_rows"', 1)[1].split("</fieldset>")[0]
    assert "Choose what to do with the row too long for the AI model" in field

    started = client.post(response["Location"], {**form, "long_rows": "leave_out"})
    assert started.status_code == 302
    run = Run.objects.get()
    assert run.status == Run.Status.COMPLETED and run.total_count == 3
    assert not Item.objects.filter(run=run, custom_id="c2").exists()
    page = client.get(started["Location"]).content.decode()
    assert "Rows left out" in page and "Row 3 is too long for the AI model" in page


def test_a_row_too_long_can_be_scored_on_its_first_characters_marked_truncated(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama
) -> None:
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "MAX_NUM_CTX": 4096}
    client = _client(owner)
    response = _long_rows_file(client)
    limit = services.ingest.candidate_chars_limit(rubric=services.rubric_default())
    kept = limit // 100 * 100
    form = {
        "id_column": "id",
        "rubric": services.rubric_default().pk,
        "model": "gemma3:12b",
        "role_1": "model",
        "role_2": "model",
        "long_rows": "truncate",
    }
    started = client.post(response["Location"], form)
    assert started.status_code == 302
    run = Run.objects.get()
    assert (run.status, run.done_count, run.failed_count) == (Run.Status.COMPLETED, 4, 0)
    long_item = Item.objects.get(run=run, custom_id="c2")
    assert long_item.result["truncated"]["kept"] == kept
    sent = [r["messages"][-1]["content"] for r in fake_ollama.requests]
    assert max(len(text) for text in sent) == len("<candidate>\n\n</candidate>") + kept

    results = client.get(reverse("web:run_results", args=[run.public_id])).content
    assert results.decode().count("truncated") == 1
    detail = client.get(reverse("web:item", args=[run.public_id, long_item.pk]))
    assert f"Only the first {kept:,} of" in detail.content.decode()
    rows = {row["id"]: row for row in _download_rows(client, run)}
    assert rows["c2"]["truncated"] == "yes" and rows["c1"]["truncated"] == ""
    assert rows["c2"]["cover_note"] == "I like data. " * 3000  # the file keeps the whole row


def test_retrying_a_row_that_was_too_long_offers_to_score_its_first_characters(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "MAX_NUM_CTX": 4096}
    rows = [
        {
            "id": f"c{i}",
            "position": "Analyst",
            "cover_note": "I like data. " * (3000 + i if i else 3),
        }
        for i in range(3)
    ]
    from tests.support.files import write_csv

    run = start_run(write_csv(tmp_path / "long.csv", rows), owner=owner)
    failed = list(Item.objects.filter(run=run, status=Item.Status.FAILED))
    assert len(failed) == 2
    for item in failed:
        assert item.error.startswith(f"Row {item.line} is too long for the AI model: ")
        assert "num_ctx" not in item.error and "HRBATCH" not in item.error

    client = _client(owner)
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()
    kept = services.ingest.candidate_chars_limit(rubric=run.rubric) // 100 * 100
    button = f"Retry, scoring the first {kept:,} characters of 2 rows too long"
    assert button in page
    url = reverse("web:run_control", args=[run.public_id, "retry-truncated"])
    client.post(url)
    run.refresh_from_db()
    assert (run.status, run.done_count, run.failed_count) == (Run.Status.COMPLETED, 3, 0)
    assert all(
        item.result["truncated"]["kept"] == kept
        for item in Item.objects.filter(run=run).exclude(custom_id="c0")
    )
