"""The HR director's journey in a real browser (Debian's Chromium driven by Playwright)
against `manage.py serve` with the fake Ollama server behind it.

Screenshots of every page land in test-artifacts/browser/ for people to look at.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from devtools import live
from devtools.fake_ollama import FakeOllama
from devtools.synthetic import write_candidates_csv
from evaluations.services import ROW_NUMBER
from tests.support.browser import PATIENCE_MS, SHOTS, chromium, served, settled
from tests.support.files import VALID_UTF8, damaged_resume_csv, resume_rows, resumes
from tests.support.jobs import UNMATCHED, write_candidates, write_jobs_file

PASSWORD = "candidate-pool-2026"
CRITERIA = ["technical_skills", "communication", "cultural_fit", "leadership_potential", "overall"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOllama]:
    # 4 slots x 0.1 s: about 40 candidates a second, slow enough to watch the bar move.
    with FakeOllama(slots=4, latency=0.1) as server:
        yield server


def _serve(env: dict[str, str]) -> Iterator[str]:
    """`manage.py serve` on a fresh data dir with one user, Hana; yields its address."""
    with served(env, PASSWORD, first_name="Hana") as url:
        yield url


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, fake: FakeOllama) -> Iterator[str]:
    yield from _serve(
        live.app_env(tmp_path_factory.mktemp("browser-data"), fake, HRBATCH_CONCURRENCY="2")
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, app: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 860}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(PATIENCE_MS)
    yield page
    context.close()


def _still_progress(page: Page) -> float:
    """The run's progress once it has stopped moving: two readings a second apart agree
    (however long the requests in flight take to come back on a busy machine)."""
    deadline = time.monotonic() + PATIENCE_MS / 1000
    page.reload()
    before = _progress(page)
    while time.monotonic() < deadline:
        time.sleep(1)
        page.reload()
        now = _progress(page)
        if now == before:
            return now
        before = now
    raise AssertionError(f"the progress still moves while paused ({before}%)")


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _sign_in(page: Page, app: str) -> None:
    page.goto(app + "/")
    expect(page).to_have_url(f"{app}/accounts/login/?next=/")
    page.get_by_label("Username").fill("hana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible()


def _upload_and_prepare(page: Page, app: str, source: Path, *, shots: bool = False) -> None:
    page.get_by_role("link", name="Score a new file").first.click()
    expect(page.get_by_role("heading", name="Upload your candidate file")).to_be_visible()
    page.set_input_files("#id_file", str(source))
    expect(page.locator("#chosen")).to_contain_text(source.name)
    if shots:
        _shot(page, "03-upload")
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", name=source.name)).to_be_visible()
    expect(page.locator("#row-checks")).to_contain_text("Every row can be scored")


def _progress(page: Page) -> float:
    value = page.locator("#progress .bar").first.get_attribute("aria-valuenow") or "0"
    return float(value)


def test_a_new_user_scores_a_file_and_downloads_the_results(
    page: Page, app: str, tmp_path: Path
) -> None:
    source = tmp_path / "applicants-march.csv"
    write_candidates_csv(source, 200, seed=21)

    page.goto(app + "/")
    _shot(page, "01-sign-in")
    _sign_in(page, app)
    expect(page.get_by_text("No runs yet")).to_be_visible()
    _shot(page, "02-runs-empty")

    _upload_and_prepare(page, app, source, shots=True)
    expect(page.locator(".facts")).to_contain_text("200")
    expect(page.locator("#id_id_column")).to_have_value("id")
    # Personal data starts out hidden from the AI; one more column is hidden by hand.
    expect(page.get_by_label("email", exact=True)).to_have_value("audit")
    page.get_by_label("education", exact=True).select_option("ignore")
    expect(page.get_by_label("AI model")).to_have_value("gemma3:12b")
    expect(page.get_by_label("Email me when it is done")).to_have_value("hana@example.com")
    _shot(page, "04-check-columns")

    page.get_by_role("button", name="Start scoring 200 candidates").click()
    expect(page.locator("#progress")).to_be_visible()
    # The bar advances while the fragment polls, then polling stops at the end.
    page.wait_for_function(
        "() => { const b = document.querySelector('#progress .bar');"
        " const v = b && parseFloat(b.getAttribute('aria-valuenow'));"
        " return v > 0 && v < 100; }"
    )
    first = _progress(page)
    _shot(page, "05-progress")
    page.wait_for_function(
        f"() => parseFloat(document.querySelector('#progress .bar')"
        f".getAttribute('aria-valuenow')) > {first}"
    )
    expect(page.locator("#progress .badge")).to_have_text("Finished")
    assert _progress(page) == 100.0
    assert page.locator("#progress").get_attribute("hx-trigger") is None  # polling stopped
    expect(page.locator("#results table.results tbody tr")).to_have_count(50)
    _shot(page, "06-finished")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download scored CSV").click()
    path = download_info.value.path()
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 200
    assert {r["id"] for r in rows} == {f"C{i:06d}" for i in range(1, 201)}
    for row in rows:
        assert row["status"] == "done"
        assert all(1 <= int(row[key]) <= 10 for key in CRITERIA)
        assert row["education"]  # an ignored column is still kept in the output

    page.get_by_role("link", name="Overall").click()  # sort by the overall score, in place
    expect(page.locator("table.results thead")).to_contain_text("Overall ↓")
    scores = [
        int(s)
        for s in page.locator("table.results tbody tr td.score:nth-child(7)").all_inner_texts()
    ]
    assert scores == sorted(scores, reverse=True)
    page.locator("table.results tbody tr a").first.click()
    expect(page.get_by_text("Exactly what the AI saw")).to_be_visible()
    expect(page.locator("pre.prompt").last).not_to_contain_text("@example.")
    _shot(page, "07-candidate")

    page.goto(app + "/")
    expect(page.locator("table.table tbody tr")).to_have_count(1)
    expect(page.locator(".badge").first).to_have_text("Finished")
    _shot(page, "08-runs")


def test_pause_resume_and_cancel_from_the_run_page(
    page: Page, app: str, tmp_path: Path, fake: FakeOllama
) -> None:
    source = tmp_path / "applicants-april.csv"
    write_candidates_csv(source, 400, seed=22)
    fake.latency = 0.25  # slower, so there is time to press the buttons
    try:
        _sign_in(page, app)
        _upload_and_prepare(page, app, source)
        page.get_by_role("button", name="Start scoring 400 candidates").click()
        expect(page.locator("#progress")).to_be_visible()  # the run page has loaded
        page.wait_for_function(
            "() => parseFloat(document.querySelector('#progress .bar')"
            ".getAttribute('aria-valuenow')) > 0"
        )
        page.get_by_role("button", name="Pause").click()
        expect(page.locator("#progress .badge")).to_have_text("Paused")
        paused_at = _still_progress(page)  # the requests in flight have come back
        time.sleep(2.5)
        page.reload()
        assert _progress(page) == paused_at  # nothing moves while paused
        assert paused_at < 100
        _shot(page, "09-paused")

        page.get_by_role("button", name="Resume").click()
        expect(page.locator("#progress .badge")).to_have_text("Scoring")
        page.wait_for_function(
            f"() => parseFloat(document.querySelector('#progress .bar')"
            f".getAttribute('aria-valuenow')) > {paused_at}"
        )

        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Cancel run").click()
        expect(page.locator("#progress .badge")).to_have_text("Cancelled")
        expect(page.locator("#progress")).to_contain_text("Cancelled")
        _shot(page, "10-cancelled")
    finally:
        fake.latency = 0.1


def test_pages_stay_usable_in_a_narrow_window(browser: Browser, app: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    page = context.new_page()
    try:
        _sign_in(page, app)
        _shot(page, "11-narrow-runs")
        source = tmp_path / "small.csv"
        write_candidates_csv(source, 25, seed=23)
        _upload_and_prepare(page, app, source)
        _shot(page, "12-narrow-check-columns")
        button = page.get_by_role("button", name="Start scoring 25 candidates")
        button.scroll_into_view_if_needed()
        box = button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        button.click()
        expect(page.locator("#progress .badge")).to_have_text("Finished")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390 + 1, "the page itself must not scroll sideways"
        _shot(page, "13-narrow-run")
    finally:
        context.close()


@pytest.mark.resumes35
def test_a_damaged_file_shows_what_could_not_be_read_and_previews_another_encoding(
    page: Page, app: str, tmp_path: Path
) -> None:
    source = damaged_resume_csv(tmp_path)
    _sign_in(page, app)
    page.get_by_role("link", name="Score a new file").first.click()
    page.set_input_files("#id_file", str(source))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", name=source.name)).to_be_visible()

    box = page.locator("#encoding-preview")
    expect(box).to_contain_text("7 characters in 3 rows could not be read and show as \ufffd.")
    expect(box).to_contain_text(VALID_UTF8[:20])
    _shot(page, "10-encoding-damaged")

    page.get_by_label("Text encoding").select_option("cp1252")  # htmx swaps the preview in
    expect(box).to_contain_text("Read as Windows-1252")
    expect(box).to_contain_text("PeÃ±a MuÃ±oz")
    box.screenshot(path=str(SHOTS / "11-encoding-preview-windows-1252.png"))

    page.get_by_label("Text encoding").select_option("")
    expect(box).to_contain_text("7 characters in 3 rows")


def test_a_colleague_edit_of_the_shared_rubric_becomes_their_own_copy(page: Page, app: str) -> None:
    _sign_in(page, app)
    page.get_by_role("link", name="Rubrics", exact=True).click()
    page.get_by_role("link", name="Default five-score rubric").first.click()
    page.get_by_role("link", name="Edit a copy").click()
    expect(page.get_by_text("only staff can change it")).to_be_visible()
    instructions = page.get_by_label("Instructions to the AI")
    instructions.fill(instructions.input_value().replace("experienced, fair", "strict, fair"))
    page.get_by_role("button", name="Save rubric").click()

    expect(page.get_by_text("Saved as your own copy")).to_be_visible()
    expect(page.get_by_text("Your own copy: only you see it.")).to_be_visible()
    # Every anchor survived the round trip through the editor's form (they used to be
    # posted under the wrong criterion's field names and were lost).
    expect(page.locator("dl.anchors dd")).to_have_count(20)
    expect(page.locator("dl.anchors").first).to_contain_text("Expert in the core skills")
    _shot(page, "12-rubric-own-copy")
    page.get_by_role("link", name="What changed from the shared").click()
    expect(page.get_by_role("heading", name="Changes from the shared")).to_contain_text(
        "to your copy, version 1"
    )
    expect(page.get_by_text("A 10 looks like")).to_have_count(0)  # anchors unchanged
    expect(page.locator(".diff del").first).to_have_text("experienced,")
    expect(page.locator(".diff ins").first).to_have_text("strict,")
    _shot(page, "13-rubric-diff")


@pytest.mark.resumes35
def test_the_resume_file_starts_as_it_is_and_downloads_complete(page: Page, app: str) -> None:
    """The 35-column résumé file (the public one under make test-public-data): no ID
    column, a BOM in the middle of its header, list-literal and multi-line cells. Start is
    pressed without changing anything."""
    source = resumes()
    rows = resume_rows()
    titles = Counter(" ".join(row["job_position_name"].split()) for row in rows)
    _sign_in(page, app)
    page.get_by_role("link", name="Score a new file").first.click()
    page.set_input_files("#id_file", str(source))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", name=source.name)).to_be_visible()
    expect(page.locator("#row-checks")).to_contain_text("Every row can be scored")
    # The job's columns are proposed as such, and the file's jobs counted.
    expect(page.get_by_label("skills_required", exact=True)).to_have_value("job")
    expect(page.get_by_label("responsibilities", exact=True)).to_have_value("model")
    expect(page.locator("#jobs-summary")).to_contain_text(f"{len(titles)} jobs")
    biggest = max(titles.values())
    expect(page.locator("#jobs-summary tbody tr").first).to_contain_text(str(biggest))
    expect(page.get_by_label("Candidate ID column")).to_have_value(ROW_NUMBER)
    expect(page.get_by_label("Candidate ID column").locator("option:checked")).to_have_text(
        "Row number (no ID column)"
    )
    _shot(page, "20-real-file-check-columns")

    page.get_by_role("button", name=f"Start scoring {len(rows)} candidates").click()
    expect(page.locator("#progress .badge")).to_have_text("Finished")
    expect(page.locator("#progress")).to_contain_text(f"{len(rows)} / {len(rows)}")
    _shot(page, "21-real-file-finished")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download scored CSV").click()
    with open(download_info.value.path(), encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    with open(source, encoding="utf-8", newline="") as handle:
        original = list(csv.reader(handle))
    header = [name.lstrip("\ufeff") for name in original[0]]
    assert rows[0][: len(header)] == header  # every original column, in order
    assert len(rows) == 1 + len(resume_rows())
    at = {name: rows[0].index(name) for name in [*CRITERIA, "status"]}
    for line, (values, row) in enumerate(zip(original[1:], rows[1:], strict=True), start=2):
        kept = [v[1:] if v.startswith("'") else v for v in row[: len(header)]]
        assert kept == values, f"row {line}"
        assert row[at["status"]] == "done", f"row {line}"
        assert all(1 <= int(row[at[key]]) <= 10 for key in CRITERIA), f"row {line}"


def test_a_row_too_long_is_flagged_and_scored_on_its_first_part_when_chosen(
    page: Page, app: str, tmp_path: Path
) -> None:
    source = tmp_path / "long-letters.csv"
    rows = [["id", "position", "cover_note"]] + [
        [f"c{i}", "Analyst", "I like data. " * (3000 if i == 2 else 5)] for i in range(1, 6)
    ]
    with open(source, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    _sign_in(page, app)
    page.get_by_role("link", name="Score a new file").first.click()
    page.set_input_files("#id_file", str(source))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", name=source.name)).to_be_visible()

    # Left before starting, the upload waits in Runs, and Continue comes back to it.
    page.get_by_role("link", name="Runs").first.click()
    waiting = page.locator("#not-started tbody tr", has_text=source.name)
    expect(waiting).to_contain_text("Not started")
    _shot(page, "22-not-started")
    waiting.get_by_role("link", name="Continue").click()

    checks = page.locator("#row-checks")
    expect(checks).to_contain_text("Row 3 is too long for the AI model: 39,030 characters")
    expect(checks).not_to_contain_text("Every row can be scored")

    # The check follows the choices: hide the long column from the AI and the row fits.
    page.get_by_label("cover_note", exact=True).select_option("ignore")
    expect(checks).to_contain_text("Every row can be scored")
    page.get_by_label("cover_note", exact=True).select_option("model")
    expect(checks).to_contain_text("Row 3 is too long for the AI model")

    page.get_by_role("button", name="Start scoring 5 candidates").click()
    expect(page.get_by_role("alert")).to_contain_text("Scoring did not start")
    expect(page.locator("#field-long_rows .error")).to_contain_text(
        "Choose what to do with the row too long for the AI model (row 3)"
    )
    expect(page.get_by_label("cover_note", exact=True)).to_have_value("model")  # kept
    _shot(page, "23-too-long-refused")

    page.get_by_label("Score their first").check()
    page.get_by_role("button", name="Start scoring 5 candidates").click()
    expect(page.locator("#progress .badge")).to_have_text("Finished")
    expect(page.locator("table.results .badge-partial")).to_have_count(1)
    expect(page.locator("table.results tbody tr").nth(1)).to_contain_text("truncated")
    _shot(page, "24-too-long-truncated")


def _scores_in_column(page: Page, column: int) -> list[int]:
    cells = page.locator(f"table.results tbody tr td.score:nth-child({column})")
    return [int(s) for s in cells.all_inner_texts()]


def test_the_shortlist_and_sorting_update_the_results_in_place(
    page: Page, app: str, tmp_path: Path
) -> None:
    source = tmp_path / "applicants-may.csv"
    write_candidates_csv(source, 120, seed=24)
    _sign_in(page, app)
    _upload_and_prepare(page, app, source)
    page.get_by_label("Run name").fill("May intake")
    page.get_by_role("button", name="Start scoring 120 candidates").click()
    expect(page.locator("#progress .badge")).to_have_text("Finished")
    expect(page.get_by_role("heading", name="May intake")).to_be_visible()
    expect(page.locator("#results table.results tbody tr")).to_have_count(50)
    # Shown next to the ID: who the candidate is (kept for the results, not for the AI).
    expect(page.locator("#results table.results thead")).to_contain_text("name · email · phone")
    expect(
        page.locator("#results table.results tbody tr").first.locator(".identity")
    ).to_contain_text("@example.")
    overall = 2 + 5  # row, candidate (with name, email, phone beneath), the fifth score
    page.evaluate("window.samePage = true")  # gone if the page reloads

    settled(page)
    page.get_by_label("Shortlist").select_option(label="top 10")
    expect(page.get_by_text("Top 10 by overall score; ties broken by the average")).to_be_visible()
    expect(page.locator("#results table.results tbody tr")).to_have_count(10)
    assert page.evaluate("window.samePage") is True  # updated in place
    expect(page).to_have_url(f"{page.url.split('?')[0]}?top=10&sort=-overall")
    scores = _scores_in_column(page, overall)
    assert scores == sorted(scores, reverse=True)
    _shot(page, "results-01-shortlist-top-10")

    settled(page)
    page.get_by_role("link", name="Communication").click()
    expect(page.get_by_text("Top 10 by communication score")).to_be_visible()
    communication = _scores_in_column(page, overall - 3)
    assert communication == sorted(communication, reverse=True)
    assert page.evaluate("window.samePage") is True
    _shot(page, "results-02-shortlist-by-communication")

    page.reload()  # the address bar kept up: a reload shows the same shortlist
    expect(page.get_by_text("Top 10 by communication score")).to_be_visible()
    expect(page.locator("#results table.results tbody tr")).to_have_count(10)
    page.evaluate("window.samePage = true")

    settled(page)
    page.get_by_label("Shortlist").select_option(label="off")
    expect(page.locator("#results table.results tbody tr")).to_have_count(50)
    settled(page)
    page.get_by_role("link", name="Next ›").click()
    expect(page.get_by_text("Page 2 of 3")).to_be_visible()
    settled(page)
    page.get_by_label("Show").select_option(label="failed")
    expect(page.get_by_text("No candidate matches these filters.")).to_be_visible()
    assert page.evaluate("window.samePage") is True
    _shot(page, "results-03-filtered")

    page.get_by_text("Rename").click()
    page.get_by_label("Run name").fill("May intake (final)")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("heading", name="May intake (final)")).to_be_visible()
    _shot(page, "results-04-renamed")


def _audited_csv(path: Path, n: int) -> Path:
    """Synthetic candidates with a sex and a race/ethnicity column: audit only by name."""
    write_candidates_csv(path, n, seed=31)
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for i, row in enumerate(rows):
        row["sex"] = ("Female", "Male")[i % 2]
        row["race_ethnicity"] = ("Asian", "Black", "Hispanic", "White")[i % 4]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_recruiter_reads_the_report_decides_and_downloads_the_shortlist(
    page: Page, app: str, tmp_path: Path
) -> None:
    source = _audited_csv(tmp_path / "applicants-june.csv", 120)
    _sign_in(page, app)
    _upload_and_prepare(page, app, source)
    # Protected characteristics start as audit only, and say why.
    expect(page.get_by_label("sex", exact=True)).to_have_value("audit_only")
    expect(page.get_by_label("race_ethnicity", exact=True)).to_have_value("audit_only")
    expect(page.locator("#field-roles")).to_contain_text("a protected characteristic")
    expect(page.get_by_label("Hide e-mails, phone numbers, links")).to_be_checked()
    page.get_by_role("button", name="Start scoring 120 candidates").click()
    expect(page.locator("#progress .badge")).to_have_text("Finished")
    page.reload()

    report = page.locator("#report")
    expect(
        report.get_by_role("heading", name="How far these scores can be trusted")
    ).to_be_visible()
    expect(report.locator("svg.histogram")).to_have_count(5)
    expect(report).to_contain_text("Scores are")
    expect(report.get_by_role("heading", name="Adverse impact")).to_be_visible()
    expect(report.locator("table.impact").first).to_contain_text("sex × race_ethnicity")
    expect(report.locator("table.impact").first).to_contain_text("Female")
    report.scroll_into_view_if_needed()
    _shot(page, "20-run-page-with-report")
    report.screenshot(path=str(SHOTS / "20-report-histograms-and-impact.png"))

    # A score range (both ends kept), the list it leaves, then its shortlist, each
    # downloaded as it is shown.
    page.locator("details.score-filters summary").click()
    page.get_by_label("Overall: lowest score").select_option("3")
    settled(page)
    page.get_by_label("Overall: highest score").select_option("8")
    settled(page)
    expect(page.get_by_label("Overall: highest score")).to_have_value("8")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download this list").click()
    with open(download_info.value.path(), encoding="utf-8-sig", newline="") as handle:
        in_range = list(csv.DictReader(handle))
    assert in_range and all(3 <= int(row["overall"]) <= 8 for row in in_range)
    expect(page.locator("#results table.results tbody tr")).to_have_count(min(50, len(in_range)))
    page.get_by_label("Shortlist").select_option("10")
    settled(page)
    size = min(10, len(in_range))
    expect(page.locator("#results table.results tbody tr")).to_have_count(size)
    expect(page.get_by_label("Overall: lowest score")).to_have_value("3")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download shortlist").click()
    with open(download_info.value.path(), encoding="utf-8-sig", newline="") as handle:
        shortlist = list(csv.DictReader(handle))
    assert [row["rank"] for row in shortlist] == [str(i) for i in range(1, size + 1)]
    overall = [int(row["overall"]) for row in shortlist]
    assert overall == sorted(overall, reverse=True)
    assert all(3 <= score <= 8 for score in overall)
    best_in_range = sorted((int(row["overall"]) for row in in_range), reverse=True)
    assert overall == best_in_range[:size]

    # A decision and a note on the best candidate.
    page.locator("#results table.results tbody tr a").first.click()
    expect(page.get_by_role("heading", name="Your decision")).to_be_visible()
    expect(page.locator("#explanation")).to_be_visible()
    expect(
        page.get_by_text("Audit-only columns (sex, race_ethnicity) are not shown")
    ).to_be_visible()
    page.get_by_label("Advance").check()
    page.get_by_label("Note").fill("Strong Spark experience; invite to a first interview.")
    page.get_by_role("button", name="Save decision").click()
    expect(page.get_by_text("Decision saved.")).to_be_visible()
    expect(page.get_by_label("Advance")).to_be_checked()
    expect(page.get_by_label("Note")).to_have_value(
        "Strong Spark experience; invite to a first interview."
    )
    _shot(page, "21-candidate-decision")
    page.get_by_role("link", name="Next candidate →").click()
    expect(page.get_by_role("link", name="← Previous candidate")).to_be_visible()

    page.goto(
        page.url.split("/candidates/")[0] + "/?top=10&sort=-overall&min_overall=3&max_overall=8"
    )
    expect(page.locator("#results table.results tbody tr").first).to_contain_text("Advance")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download shortlist").click()
    with open(download_info.value.path(), encoding="utf-8-sig", newline="") as handle:
        first = next(csv.DictReader(handle))
    assert (first["decision"], first["decided_by"]) == ("advance", "hana")
    assert first["note"] == "Strong Spark experience; invite to a first interview."


@pytest.fixture(scope="module")
def embedded_app(tmp_path_factory: pytest.TempPathFactory, fake: FakeOllama) -> Iterator[str]:
    """The app on its embedded model (no Ollama): real inference on the CPU."""
    yield from _serve(
        live.app_env(tmp_path_factory.mktemp("embedded-data"), fake, HRBATCH_LLM_BACKEND="embedded")
    )


def test_explain_a_candidate_with_the_embedded_model(
    browser: Browser, embedded_app: str, tmp_path: Path
) -> None:
    source = tmp_path / "applicants-embedded.csv"
    write_candidates_csv(source, 4, seed=41)
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    page = context.new_page()
    page.set_default_timeout(PATIENCE_MS)
    try:
        _sign_in(page, embedded_app)
        _upload_and_prepare(page, embedded_app, source)
        page.get_by_role("button", name="Start scoring 4 candidates").click()
        expect(page.locator("#progress .badge")).to_have_text("Finished")
        page.reload()
        page.locator("#results table.results tbody tr a").first.click()
        scores = page.locator("table.scores").inner_text()
        page.get_by_role("button", name="Explain").click()
        rows = page.locator("#explanation table tbody tr")
        expect(rows).to_have_count(5)
        expect(page.locator("#explanation")).to_contain_text("Explained by smollm2")
        assert page.locator("table.scores").inner_text() == scores  # unchanged
        _shot(page, "22-candidate-explained-embedded")
    finally:
        context.close()


def test_a_jobs_file_read_on_the_check_page_and_an_unmatched_position_mapped(
    page: Page, app: str, tmp_path: Path
) -> None:
    """Jobs in a file of their own: read on the check page, the positions matched by
    title, the one that matches no job mapped by choosing a job for it. (Last in this
    module: the jobs it saves stay saved for the whole team.)"""
    source = write_candidates(tmp_path / "applicants-by-position.csv")
    _sign_in(page, app)
    _upload_and_prepare(page, app, source)
    expect(page.get_by_label("Position column", exact=True)).to_have_value("position")
    page.get_by_label("Add jobs from a file").set_input_files(
        write_jobs_file(tmp_path / "jobs.csv")
    )
    page.get_by_role("button", name="Read jobs file").click()
    expect(page.get_by_role("status")).to_contain_text("jobs.csv: 5 jobs read")
    expect(page.get_by_label("Saved jobs, matched by the position column")).to_be_checked()
    matching = page.locator("#jobs-matching")
    expect(matching).to_contain_text("1 position matches no saved job")
    _shot(page, "23-jobs-file-unmatched-position")

    page.get_by_role("button", name="Start scoring 18 candidates").click()
    expect(page.locator(".error-summary")).to_contain_text("“Warehouse Lead” (3 candidates)")
    page.get_by_label(UNMATCHED).select_option(label="Operations Manager (your copy v1)")
    settled(page)
    expect(page.locator("#jobs-matching")).not_to_contain_text("matches no saved job")
    _shot(page, "24-jobs-position-mapped")
    page.get_by_role("button", name="Start scoring 18 candidates").click()
    expect(page.locator("#progress .badge")).to_have_text("Finished")
    page.reload()  # the jobs are known once the file is read: the page's head says so
    expect(page.locator("#run-jobs")).to_contain_text("5 jobs, saved jobs matched by “position”")
    _shot(page, "25-jobs-run-finished")
