"""The web app through Django's test client: pages, access control, uploads, polling."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from evaluations import services
from evaluations.models import File, Item, Run
from tests.conftest import candidates_csv, start_run
from tests.fake_ollama import FakeOllama
from tests.realdata import shared_data
from tests.test_csvio import VALID_UTF8, damaged_resume_csv

pytestmark = pytest.mark.django_db(transaction=True)

CRITERIA = ["technical_skills", "communication", "cultural_fit", "leadership_potential", "overall"]


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _upload(client: Client, name: str, content: bytes) -> Any:
    return client.post(reverse("evaluations:upload"), {"file": _named(name, content)})


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
    assert response["Location"] == reverse("evaluations:prepare", args=[file.id])

    page = client.get(response["Location"]).content.decode()
    assert "pool.csv" in page and "UTF-8" in page and "comma" in page
    assert "<dd>30</dd>" in page  # candidates counted
    assert page.count('<tr><td class="num muted">') == 20  # a 20-row preview
    assert 'value="id" selected' in page  # the ID column is guessed
    assert "gemma3:12b" in page and "llama3.2:3b" in page  # models from `ollama list`
    assert 'value="olivia@example.com"' in page  # notify the owner by default

    checks = client.get(reverse("evaluations:check_rows", args=[file.id]), {"id_column": "id"})
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
    response = client.post(reverse("evaluations:prepare", args=[file.id]), form)
    assert response.status_code == 302, response.context["form"].errors
    run = Run.objects.get(owner=owner)
    assert response["Location"] == reverse("evaluations:run", args=[run.public_id])
    assert run.status == Run.Status.COMPLETED  # tasks run inline in these tests
    assert run.columns["roles"]["name"] == "audit" and run.columns["roles"]["skills"] == "model"

    page = client.get(response["Location"]).content.decode()
    assert "Finished" in page and "100.0%" in page and "Download scored CSV" in page
    assert "every 2s" not in page  # a finished run does not poll
    assert page.count('href="/runs/' + run.public_id + "/candidates/") == 30

    download = client.get(reverse("evaluations:run_download", args=[run.public_id]))
    body = b"".join(download.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 30 and all(r["status"] == "done" for r in rows)
    assert all(1 <= int(r[key]) <= 10 for r in rows for key in ("overall", "communication"))
    excel = client.get(reverse("evaluations:run_download", args=[run.public_id]), {"excel": "1"})
    assert b"".join(excel.streaming_content).startswith("\ufeff".encode())

    item = Item.objects.filter(run=run).first()
    assert item is not None
    detail = client.get(reverse("evaluations:item", args=[run.public_id, item.pk]))
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
    url = reverse("evaluations:run_progress", args=[run.public_id])

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
        reverse("evaluations:run", args=[run.public_id]),
        reverse("evaluations:run_progress", args=[run.public_id]),
        reverse("evaluations:run_results", args=[run.public_id]),
        reverse("evaluations:run_download", args=[run.public_id]),
        reverse("evaluations:item", args=[run.public_id, item.pk]),
        reverse("evaluations:prepare", args=[run.input_file_id]),
        reverse("evaluations:check_rows", args=[run.input_file_id]),
        reverse("evaluations:rejected_rows", args=[run.input_file_id]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    for action in ("pause", "resume", "cancel", "retry-failed"):
        url = reverse("evaluations:run_control", args=[run.public_id, action])
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
        response = client.post(reverse("evaluations:upload"), {"file": _named(name, b"")})
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

    checks = client.get(reverse("evaluations:check_rows", args=[file_id]), {"id_column": "id"})
    text = checks.content.decode()
    assert "2 rows have problems" in text
    assert "Row 4 has the same ID &#x27;c1&#x27; as row 2" in text
    assert "Row 5 has no value in the ID column" in text

    rejected = client.get(reverse("evaluations:rejected_rows", args=[file_id]), {"id_column": "id"})
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
    response = client.post(reverse("evaluations:prepare", args=[file_id]), form)
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
    response = client.post(reverse("evaluations:prepare", args=[file_id]), form)

    assert response.status_code == 400
    assert "Choose at least one column to show to the AI" in response.content.decode()
    assert not Run.objects.exists()


def test_results_sort_by_a_score_filter_by_status_and_shortlist_the_top(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 40), owner=owner)
    Item.objects.filter(run=run, line=7).update(status=Item.Status.FAILED, result=None)
    client = _client(owner)
    url = reverse("evaluations:run_results", args=[run.public_id])

    def ids(**params: str) -> list[str]:
        page = client.get(url, params).content.decode()
        return [part.split('"')[0] for part in page.split("/candidates/")[1:]]

    by_overall = ids(sort="-overall")
    overall = {i.pk: i.scores.get("overall", 0) for i in Item.objects.filter(run=run)}
    values = [overall[int(pk.rstrip("/"))] for pk in by_overall if overall[int(pk.rstrip("/"))]]
    assert values == sorted(values, reverse=True) and len(by_overall) == 40
    assert len(ids(sort="-overall", top="10")) == 10
    assert len(ids(status="failed")) == 1


def test_pause_resume_cancel_and_retry_buttons_call_the_services(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    client = _client(owner)
    run = start_run(candidates_csv(tmp_path, 5), owner=owner, start=False)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.IN_PROGRESS)

    def act(action: str) -> str:
        url = reverse("evaluations:run_control", args=[run.public_id, action])
        return client.post(url, follow=True).content.decode()

    assert "Paused" in act("pause")
    assert Run.objects.get(pk=run.pk).status == Run.Status.PAUSED
    assert "Resumed" in act("resume")
    assert Run.objects.get(pk=run.pk).status == Run.Status.COMPLETED

    failed = start_run(candidates_csv(tmp_path, 3, name="f.csv"), owner=owner, start=False)
    fake_ollama.error_rate = 1.0
    services.run_start(run=failed)
    fake_ollama.error_rate = 0.0
    run = failed
    page = client.get(reverse("evaluations:run", args=[run.public_id])).content.decode()
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
    page = client.get(reverse("evaluations:rubric", args=[rubric.pk])).content.decode()
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
    response = client.post(reverse("evaluations:rubric_edit", args=[rubric.pk]), form, follow=True)

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


def test_the_check_page_counts_unreadable_characters_and_previews_another_encoding(
    owner: Any, tmp_path: Path
) -> None:
    client = _client(owner)
    file = _check_page_upload(client, damaged_resume_csv(tmp_path))

    page = client.get(reverse("evaluations:prepare", args=[file.id])).content.decode()

    assert "7 characters in 3 rows could not be read and show as \ufffd." in page
    assert "Rows 3, 5, 6." in page
    assert VALID_UTF8[:20] in page  # the valid ñ, NBSP and · as typed
    assert '<select name="encoding" id="id_encoding"' in page
    assert "Automatic (found: UTF-8)" in page and "Windows-1252" in page
    assert 'hx-get="' + reverse("evaluations:encoding_preview", args=[file.id]) in page

    preview = reverse("evaluations:encoding_preview", args=[file.id])
    as_cp1252 = client.get(preview, {"encoding": "cp1252"}).content.decode()
    assert "PeÃ±a MuÃ±oz" in as_cp1252 and "Read as Windows-1252" in as_cp1252
    assert "could not be read" not in as_cp1252 and "<script" not in as_cp1252
    as_utf8 = client.get(preview, {"encoding": "utf-8"}).content.decode()
    assert VALID_UTF8[:20] in as_utf8 and "7 characters in 3 rows" in as_utf8


def test_a_damaged_utf8_file_is_scored_whole_and_downloads_its_valid_characters(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    from evaluations import csvio

    client = _client(owner)
    file = _check_page_upload(client, damaged_resume_csv(tmp_path))
    expected = csvio.count_records(file.abspath, csvio.sniff(file.abspath))

    # No ID column in this file: rows are numbered (the check page's "Row number").
    run = services.run_create(owner=owner, input_file=file, id_column=None)

    run.refresh_from_db()
    assert (run.status, run.done_count, run.total_count) == (
        Run.Status.COMPLETED,
        expected,
        expected,
    )
    assert run.options["rejected_count"] == 0 and run.errors == []
    page = client.get(reverse("evaluations:run", args=[run.public_id])).content.decode()
    assert "7 characters in 3 rows could not be read and show as \ufffd." in page
    assert Item.objects.get(run=run, line=2).input["career_objective"].startswith(VALID_UTF8)
    assert any(VALID_UTF8 in m["content"] for r in fake_ollama.requests for m in r["messages"])
    download = client.get(reverse("evaluations:run_download", args=[run.public_id]))
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
        reverse("evaluations:encoding_preview", args=[file.id]), {"encoding": "cp1252"}
    ).content.decode()
    assert "SeÃ±ora" in preview  # what a person sees before choosing it

    form = {"id_column": "id", "rubric": services.rubric_default().pk, "model": "gemma3:12b"}
    header = next(csv.reader(io.StringIO(source.read_text())))
    for index, column in enumerate(header):
        form[f"role_{index}"] = "model" if column != "id" else "id"
    form["encoding"] = "cp1252"
    response = client.post(reverse("evaluations:prepare", args=[file.id]), form)

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


def _download(client: Client, run: Run) -> list[dict[str, str]]:
    response = client.get(reverse("evaluations:run_download", args=[run.public_id]))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def _original(value: str) -> str:
    # The download guards cells that a spreadsheet would run as formulas with a "'".
    return value[1:] if value.startswith("'") else value


def test_the_real_file_without_an_id_column_starts_as_it_is_and_downloads_complete(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama
) -> None:
    source = shared_data("resume_data_97.csv")
    client = _client(owner)
    response = _upload(client, source.name, source.read_bytes())
    prepare = client.get(response["Location"])
    page = prepare.content.decode()
    assert prepare.status_code == 200
    assert "<dd>97</dd>" in page and "<dd>35</dd>" in page
    # No column is an ID: the rows are numbered, and that is a real, selected choice.
    assert f'value="{services.ROW_NUMBER}" selected' in page

    checks = client.get(
        reverse("evaluations:check_rows", args=[_file_id(response)]),
        {"id_column": services.ROW_NUMBER},
    )
    assert "Every row can be scored" in checks.content.decode()

    started = client.post(response["Location"], _form_as_shown(prepare))
    assert started.status_code == 302, started.content.decode()[:3000]
    run = Run.objects.get(owner=owner)
    assert run.status == Run.Status.COMPLETED and run.total_count == 97
    assert run.columns["id_column"] is None

    with open(source, encoding="utf-8", newline="") as handle:
        original = list(csv.reader(handle))
    header = [name.lstrip("\ufeff") for name in original[0]]
    rows = _download(client, run)
    assert len(rows) == 97
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
    delete = reverse("evaluations:upload_delete", args=[file.id])
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
    check = services.file_check(input_file=File.objects.get(), id_column="id", roles=None)
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
    limit = services.candidate_chars_limit(rubric=services.rubric_default())
    chars = len("position: Analyst\ncover_note: " + "I like data. " * 3000)
    about = f"{limit // 100 * 100:,}"

    checks = client.get(
        reverse("evaluations:check_rows", args=[_file_id(response)]),
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
    limit = services.candidate_chars_limit(rubric=services.rubric_default())
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
    assert max(len(text) for text in sent) == len("Candidate:\n") + kept

    results = client.get(reverse("evaluations:run_results", args=[run.public_id])).content
    assert results.decode().count("truncated") == 1
    detail = client.get(reverse("evaluations:item", args=[run.public_id, long_item.pk]))
    assert f"Only the first {kept:,} of" in detail.content.decode()
    rows = {row["id"]: row for row in _download(client, run)}
    assert rows["c2"]["truncated"] == "yes" and rows["c1"]["truncated"] == ""
    assert rows["c2"]["cover_note"] == "I like data. " * 3000  # the file keeps the whole row


def test_retrying_a_row_that_was_too_long_offers_to_score_its_first_characters(
    owner: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "MAX_NUM_CTX": 4096}
    rows = [
        {"id": f"c{i}", "position": "Analyst", "cover_note": "I like data. " * (3000 if i else 3)}
        for i in range(3)
    ]
    from tests.conftest import write_csv

    run = start_run(write_csv(tmp_path / "long.csv", rows), owner=owner)
    failed = list(Item.objects.filter(run=run, status=Item.Status.FAILED))
    assert len(failed) == 2
    for item in failed:
        assert item.error.startswith(f"Row {item.line} is too long for the AI model: ")
        assert "num_ctx" not in item.error and "HRBATCH" not in item.error

    client = _client(owner)
    page = client.get(reverse("evaluations:run", args=[run.public_id])).content.decode()
    kept = services.candidate_chars_limit(rubric=run.rubric) // 100 * 100
    button = f"Retry, scoring the first {kept:,} characters of 2 rows too long"
    assert button in page
    url = reverse("evaluations:run_control", args=[run.public_id, "retry-truncated"])
    client.post(url)
    run.refresh_from_db()
    assert (run.status, run.done_count, run.failed_count) == (Run.Status.COMPLETED, 3, 0)
    assert all(
        item.result["truncated"]["kept"] == kept
        for item in Item.objects.filter(run=run).exclude(custom_id="c0")
    )
