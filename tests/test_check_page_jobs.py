"""The check page's jobs step at the size of real exports, and the choices it keeps.

- An export whose `Job Title` is each candidate's own (devtools.synthetic.talentalign:
  2,322 values in 2,900 rows) is proposed neither as the position applied for nor as
  describing the job; picked anyway, its thousands of positions are paged and searched on
  the server, "Score every unmatched position without a job" is one action, and Start
  posts a few dozen fields (not one per position: Django refuses more than 1,000).
- Every choice of the page (ID column, uses, position column, hand mappings, long rows, …)
  is kept with the upload until Start or Delete, and found again on the next load.
- In Chromium: a mapping survives "Type this job" and back, and a reload; the export is
  started from the page as it comes.
"""

from __future__ import annotations

import csv
import html
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from devtools import live
from devtools.fake_ollama import FakeOllama
from devtools.synthetic import write_talentalign_csv
from evaluations import csvio, services
from evaluations.models import File, Item, Job, Run
from tests.support.browser import SHOTS, chromium, served, settled
from tests.support.files import write_csv
from tests.support.jobs import write_jobs_file
from tests.support.processes import ROOT, evaluate, finish, subprocess_env
from tests.support.runs import upload

database = pytest.mark.django_db(transaction=True)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _text(content: bytes | str) -> str:
    body = content.decode() if isinstance(content, bytes) else content
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _form(file: File, **extra: str) -> dict[str, Any]:
    """The check page's form as its page draws it (proposed uses), with `extra`."""
    layout = csvio.sniff(file.abspath)
    roles = services.default_roles(layout.header, "Resume ID", job_columns=[])
    form: dict[str, Any] = {
        "id_column": "Resume ID",
        "rubric": services.rubric_default().pk,
        "model": "gemma3:12b",
        "notify_email": "",
        "redact": "on",
        **{f"role_{i}": roles[c] for i, c in enumerate(layout.header)},
    }
    return {**form, **extra}


def _role_of(page: str, column: str) -> str:
    """The use a column starts with on the check page (its select's selected option)."""
    label = re.search(rf'<label for="(id_role_\d+)">{re.escape(column)}</label>', page)
    assert label, column
    select = page.split(f'id="{label[1]}"', 1)[1].split("</select>", 1)[0]
    return re.search(r'<option value="([^"]*)" selected>', select)[1]  # type: ignore[index]


def _shown(page: str) -> dict[str, str]:
    return {
        name: re.search(rf'name="{name}" value="([^"]*)"', page)[1]  # type: ignore[index]
        for name in ("jobs_versions", "jobs_digest")
    }


# --- an export with a title per candidate ----------------------------------------------------


@database
def test_a_title_per_candidate_is_proposed_neither_as_the_position_nor_as_the_job(
    owner: Any, tmp_path: Path
) -> None:
    source = tmp_path / "talentalign.csv"
    write_talentalign_csv(source, 2900)
    file = upload(source, owner)

    page = _client(owner).get(reverse("web:prepare", args=[file.id])).content.decode()

    assert _role_of(page, "Job Title") == services.ROLE_MODEL  # the candidate's, not the job's
    text = _text(page)
    assert (
        "Starts this way: a different value for most candidates (2,322 values in 2,900 rows): "
        "each candidate's own title, not the job they applied for" in text
    )
    assert "Proposed:" not in text  # no position column
    assert '<option value="" selected>— choose a column —</option>' in page
    assert re.search(r'value="columns"[^>]*checked', page)


@database
def test_thousands_of_positions_are_paged_searched_and_scored_without_a_job_in_one_action(
    owner: Any, tmp_path: Path, engine_settings: Any, fake_ollama: FakeOllama
) -> None:
    """1,400 rows, 1,121 different titles: one select per position would be more than
    Django's 1,000 fields, and Start would answer a bare "Bad Request (400)"."""
    source = tmp_path / "talentalign.csv"
    write_talentalign_csv(source, 1400)
    with open(source, encoding="utf-8", newline="") as handle:
        titles = {" ".join(row["Job Title"].split()).casefold() for row in csv.DictReader(handle)}
    assert len(titles) == 1121
    file = upload(source, owner)
    client = _client(owner)
    form = _form(file, jobs_from="saved", position_column="Job Title")

    checks = client.get(reverse("web:check_rows", args=[file.id]), form).content.decode()
    text = _text(checks)
    assert "1121 positions in “Job Title”" in text
    assert "1121 positions match no saved job (1400 candidates)" in text
    assert checks.count("<select") == 25  # one page of the table
    assert "Positions 1–25 of 1121 · page 1 of 45" in text
    assert len(checks) < 100_000

    # Search and paging answer from the server, the file not read again.
    table = reverse("web:positions", args=[file.id])
    found = client.get(table, {**form, "positions_q": "at Kelvane"}).content.decode()
    rows = re.findall(r'<label for="map-\d+">([^<]*)</label>', found)
    assert rows and all("at kelvane" in html.unescape(title).casefold() for title in rows)
    second = client.get(table, {**form, "positions_page": "2"}).content.decode()
    first_titles = set(re.findall(r'<label for="map-\d+">([^<]*)</label>', checks))
    second_titles = set(re.findall(r'<label for="map-\d+">([^<]*)</label>', second))
    assert len(second_titles) == 25 and not first_titles & second_titles
    assert "page 2 of 45" in _text(second)

    # Start refused: every position matches no job.
    refused = client.post(reverse("web:prepare", args=[file.id]), {**form, **_shown(checks)})
    assert refused.status_code == 400
    assert "1,121 positions in 'Job Title' match no job" in _text(refused.content)
    assert "“Score every unmatched position without a job” for all of them" in _text(
        refused.content
    )

    # One action for all of them, kept with the upload.
    done = client.post(
        reverse("web:position_map", args=[file.id]), {**form, "unmatched": "without_job"}
    ).content.decode()
    assert "Every position that matches no saved job is scored without a job" in _text(done)
    assert "match no saved job" not in _text(done)
    file.refresh_from_db()
    assert file.spec.unmatched_without_job is True

    start = {**form, **_shown(done)}
    assert len(start) < 40
    started = client.post(reverse("web:prepare", args=[file.id]), start)
    assert started.status_code == 302, _text(started.content)[:1500]
    run = Run.objects.get()
    assert run.status == Run.Status.COMPLETED, run.status_message
    # Every candidate scored on the rubric alone, but those with nothing to read but
    # "Not Provided" (skipped, flagged too_little_text).
    items = Item.objects.filter(run=run)
    assert items.count() == 1400 and not items.filter(job__isnull=False).exists()
    assert set(items.values_list("status", flat=True)) == {Item.Status.DONE, Item.Status.SKIPPED}
    assert run.done_count == items.filter(status=Item.Status.DONE).count() > 900
    assert run.columns["jobs"]["position_column"] == "Job Title"


def test_evaluate_scores_every_other_position_without_a_job_with_map_job_star(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    """The same on the command line: --map-job '*=' for all the positions that match no
    job, however many; Job Title is not taken for the job's description either."""
    env = subprocess_env(tmp_path, fake_ollama)
    source = tmp_path / "talentalign.csv"
    write_talentalign_csv(source, 300)
    jobs = write_csv(
        tmp_path / "jobs.csv",
        [{"title": "Office Manager", "description": "Runs the office of 40 people."}],
    )

    refused = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "evaluate",
            str(source),
            "--out",
            str(tmp_path / "refused.csv"),
            "--jobs",
            str(jobs),
            "--job-column",
            "Job Title",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode != 0
    assert "(--map-job '*=' for every position that matches no job)" in refused.stderr

    output = finish(
        evaluate(
            source,
            tmp_path / "scored.csv",
            env,
            "--jobs",
            str(jobs),
            "--job-column",
            "Job Title",
            "--map-job",
            "*=",
        ),
        300,
    )
    assert "Not taken for the job: Job Title, a different value for most candidates" in output
    assert re.search(
        r"Positions in 'Job Title': 240 \(0 matched to a job by title, 0 mapped "
        r"with --map-job, 240 by --map-job '\*='\); 300 candidates scored without "
        r"a job\.",
        output,
    ), output
    with open(tmp_path / "scored.csv", encoding="utf-8", newline="") as handle:
        scored = list(csv.DictReader(handle))
    assert len(scored) == 300 and {row["status"] for row in scored} == {"done", "skipped"}
    assert all(row["overall"] for row in scored if row["status"] == "done")


# --- every choice kept until Start or Delete -------------------------------------------------


@database
def test_every_choice_of_the_check_page_is_kept_until_start_or_delete(
    owner: Any, tmp_path: Path
) -> None:
    services.jobs_import(path=write_jobs_file(tmp_path / "jobs.csv"), author=None)
    source = write_csv(
        tmp_path / "candidates.csv",
        [
            {"applicant_id": f"A{i}", "name": f"N{i}", "position": p, "notes": "x" * (i + 1)}
            for i, p in enumerate(["Data Engineer", "Warehouse Lead", "Night Porter"] * 2)
        ],
    )
    file = upload(source, owner)
    client = _client(owner)
    prepare = reverse("web:prepare", args=[file.id])
    layout = csvio.sniff(file.abspath)
    choices = {
        "encoding": "cp1252",
        "id_column": services.ROW_NUMBER,
        "role_0": services.ROLE_IGNORE,  # applicant_id
        "role_1": services.ROLE_RESULTS,
        "role_2": services.ROLE_RESULTS,
        "role_3": services.ROLE_MODEL,
        "rubric": str(services.rubric_default().pk),
        "model": "gemma3:12b",
        "name": "Spring intake",
        "notify_email": "hiring@example.com",
        "skip_invalid": "on",  # "redact" left out: unticked
        "long_rows": "truncate",
        "jobs_from": "saved",
        "position_column": "position",
    }
    assert layout.header == ["applicant_id", "name", "position", "notes"]
    # The page posts its form as choices change, and each hand mapping on its own.
    assert client.post(reverse("web:prepare_save", args=[file.id]), choices).status_code == 204
    client.post(
        reverse("web:position_map", args=[file.id]),
        {**choices, "position": "warehouse lead", "map:warehouse lead": "operations manager"},
    )

    page = client.get(prepare).content.decode()  # "Type this job" and back, or a reload
    assert re.search(r'<option value="cp1252" selected>', page)
    assert re.search(r'<option value="__row__" selected>Row number', page)
    assert _role_of(page, "applicant_id") == services.ROLE_IGNORE
    assert _role_of(page, "notes") == services.ROLE_MODEL
    assert 'value="Spring intake"' in page and 'value="hiring@example.com"' in page
    assert re.search(r'name="skip_invalid"[^>]*checked', page)
    assert not re.search(r'name="redact"[^>]*checked', page)
    assert re.search(r'value="saved"[^>]*checked', page)
    assert '<option value="position" selected>position</option>' in page
    # The row checks the page loads at once find the rest: the long rows' choice and the
    # hand mapping (the table is drawn from what is kept, not from the form).
    query = {**choices, "encoding": "cp1252"}
    del query["long_rows"]
    checks = client.get(reverse("web:check_rows", args=[file.id]), query).content.decode()
    row = checks.split("Warehouse Lead</label>", 1)[1].split("</tr>", 1)[0]
    assert '<option value="operations manager" selected>' in row
    assert "1 position matches no saved job" in _text(checks)  # Night Porter

    # Forgetting a mapping (back to "choose") is kept too.
    client.post(
        reverse("web:position_map", args=[file.id]),
        {**choices, "position": "warehouse lead", "map:warehouse lead": ""},
    )
    file.refresh_from_db()
    assert file.spec.job_map == {}

    # Deleted: nothing kept.
    client.post(reverse("web:upload_delete", args=[file.id]))
    file.refresh_from_db()
    assert file.deleted_at is not None and file.intake == {}


@database
def test_a_mapping_to_someone_elses_copy_or_a_job_that_does_not_exist_is_refused(
    owner: Any, colleague: Any, tmp_path: Path
) -> None:
    theirs = services.job_save(job=None, author=colleague, title="Cook", description="Cooks.")
    assert theirs.owner == colleague
    file = upload(write_csv(tmp_path / "c.csv", [{"id": "1", "position": "Chef"}]), owner)
    client = _client(owner)
    for value in ("cook", "no such job"):
        answer = client.post(
            reverse("web:position_map", args=[file.id]),
            {"position_column": "position", "position": "chef", "map:chef": value},
        )
        assert answer.status_code == 400
    file.refresh_from_db()
    assert file.spec.job_map is None
    assert not Job.objects.filter(owner=owner).exists()


# --- in a real browser -----------------------------------------------------------------------

PASSWORD = "check-page-jobs-2026"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with FakeOllama(slots=8, latency=0.0) as fake:
        env = live.app_env(tmp_path_factory.mktemp("check-page-jobs"), fake)
        with served(env, PASSWORD) as url:
            yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, app: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(app + "/")
    page.get_by_label("Username").fill("hana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible()
    yield page
    context.close()


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _upload(page: Page, app: str, source: Path) -> None:
    page.goto(app + "/runs/new/")
    page.set_input_files("#id_file", str(source))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", name=source.name)).to_be_visible()
    settled(page, 60_000)


@pytest.mark.slow
def test_a_hand_mapping_survives_type_this_job_and_a_reload(
    page: Page, app: str, tmp_path: Path
) -> None:
    source = write_csv(
        tmp_path / "applicants-two-new-positions.csv",
        [
            {"applicant_id": f"A{i:02d}", "position": p, "experience": f"{i} years of work."}
            for i, p in enumerate(
                ["Data Engineer", "Warehouse Lead", "Night Porter", "Registered Nurse"] * 3
            )
        ],
    )
    _upload(page, app, source)
    page.get_by_label("Add jobs from a file").set_input_files(
        write_jobs_file(tmp_path / "jobs.csv")
    )
    page.get_by_role("button", name="Read jobs file").click()
    expect(page.get_by_role("status")).to_contain_text("jobs.csv: 5 jobs read")
    settled(page, 60_000)
    matching = page.locator("#jobs-matching")
    expect(matching).to_contain_text("2 positions match no saved job")
    # The version each position is scored against, and its text a click away.
    expect(matching.get_by_role("row", name=re.compile("Data Engineer"))).to_contain_text(
        "Data Engineer, your copy, v1"
    )
    page.get_by_label("Run name").fill("Spring warehouse")
    page.get_by_label("Warehouse Lead").select_option(label="Operations Manager (your copy v1)")
    settled(page)
    expect(matching).to_contain_text("1 position matches no saved job")
    _shot(page, "check-jobs-01-mapped")

    matching.get_by_role("link", name="Type this job").click()
    expect(page.get_by_role("heading", name="New job")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Night Porter")
    page.go_back()
    settled(page, 60_000)
    expect(page.get_by_label("Warehouse Lead")).to_have_value("operations manager")
    expect(page.get_by_label("Run name")).to_have_value("Spring warehouse")
    page.reload()
    settled(page, 60_000)
    expect(page.get_by_label("Warehouse Lead")).to_have_value("operations manager")
    expect(page.get_by_label("Run name")).to_have_value("Spring warehouse")
    expect(page.get_by_label("Saved jobs, matched by the position column")).to_be_checked()
    _shot(page, "check-jobs-02-after-reload")

    # Typed, saved, and back: the new job matches by title, the mapping is still there.
    page.locator("#jobs-matching").get_by_role("link", name="Type this job").click()
    page.get_by_label("What the job asks for").fill("Nights on the front desk; first aid.")
    page.get_by_role("button", name="Save job").click()
    expect(page.get_by_text("Saved as version 1 of “Night Porter”")).to_be_visible()
    page.get_by_role("link", name="Back to your run set-up").click()
    settled(page, 60_000)
    expect(page.locator("#jobs-matching")).not_to_contain_text("matches no saved job")
    expect(page.get_by_label("Warehouse Lead")).to_have_value("operations manager")
    page.get_by_role("button", name="Start scoring 12 candidates").click()
    expect(page.locator("#progress .badge")).to_have_text("Finished", timeout=120_000)
    expect(page.get_by_role("heading", name="Spring warehouse")).to_be_visible()


@pytest.mark.slow
def test_an_export_with_thousands_of_titles_is_started_from_the_page_as_it_comes(
    page: Page, app: str, tmp_path: Path
) -> None:
    source = tmp_path / "talentalign-export.csv"
    write_talentalign_csv(source, 2900)
    _upload(page, app, source)
    expect(page.get_by_label("Job Title", exact=True)).to_have_value(services.ROLE_MODEL)
    expect(page.locator("#row-checks")).to_contain_text("Every row can be scored")
    _shot(page, "check-jobs-03-talentalign")

    # Matched by Job Title anyway: 2,322 positions, a page at a time, one action for all.
    page.get_by_label("Saved jobs, matched by the position column").check()
    page.get_by_label("Position column", exact=True).select_option("Job Title")
    matching = page.locator("#jobs-matching")
    expect(matching).to_contain_text("2322 positions in “Job Title”", timeout=60_000)
    expect(matching.locator("select")).to_have_count(25)
    page.get_by_label("Find a position").fill("Freelance")
    expect(matching).to_contain_text("found", timeout=30_000)
    settled(page)
    for title in matching.locator("tbody label").all_inner_texts():
        assert "freelance" in title.casefold()
    _shot(page, "check-jobs-04-search")
    page.get_by_label("Find a position").fill("")
    settled(page)
    page.get_by_role(
        "button", name=re.compile("Score every unmatched position without a job")
    ).click()
    expect(matching).to_contain_text("Every position that matches no saved job is scored")
    settled(page, 60_000)
    _shot(page, "check-jobs-05-without-jobs")
    page.get_by_role("button", name="Start scoring 2900 candidates").click()
    expect(page.locator("#progress")).to_be_visible(timeout=60_000)
    expect(page.locator("#progress .badge")).to_have_text("Finished", timeout=600_000)
    _shot(page, "check-jobs-06-finished")
