"""Wording and small things a recruiter tripped on (issue 17, item 22): search, the check
page's messages, the run page's technical figures, the shortlist explained, plain figures,
the report's token figures, download names and the error pages.

The layout items (colours, the job dropdown, the Details that stay open) are looked at in
Chromium: test_recruiter_pages_in_the_browser at the end."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from devtools import live
from devtools.fake_ollama import FakeOllama
from evaluations import audit, csvio, selectors, services
from evaluations.models import Explanation, Run
from tests.support.browser import PATIENCE_MS, SHOTS, chromium, served, settled
from tests.support.files import candidates_csv, write_csv
from tests.support.jobs import JOBS, write_candidates, write_jobs_file
from tests.support.runs import start_run, upload

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _without_details(page: str) -> str:
    """The page as shown before any "Details" is opened."""
    return re.sub(r"<details\b.*?</details>", "", page, flags=re.S)


@pytest.fixture
def run(consistency: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path) -> Run:
    scored = start_run(candidates_csv(tmp_path, 30), owner=owner)
    assert scored.status == Run.Status.COMPLETED, scored.status_message
    return scored


# --- Search --------------------------------------------------------------------------------


def test_search_finds_the_words_the_ai_read_and_says_when_nothing_matches(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path
) -> None:
    rows = [
        {"id": "A1", "name": "Ada Byron", "skills": "Kubernetes; Go", "note": "Night shifts"},
        {"id": "A2", "name": "Ben Okri", "skills": "Payroll; ADP", "note": "Fluent in Yoruba"},
        {"id": "A3", "name": "Cy Twombly", "skills": "Painting", "note": "Open to travel"},
    ]
    run = start_run(write_csv(tmp_path / "people.csv", rows), owner=owner)
    assert run.columns["roles"]["skills"] == services.ROLE_MODEL
    client = signed_in(owner)
    url = reverse("web:run_results", args=[run.public_id])

    def shown(**query: str) -> tuple[list[str], str]:
        html = client.get(url, query).content.decode()
        return re.findall(r'<td class="candidate"><a href="[^"]+">([^<]+)</a>', html), html

    assert shown(q="kubernetes")[0] == ["A1"]  # a column the AI read
    assert shown(q="yoruba")[0] == ["A2"]
    assert shown(q="byron")[0] == ["A1"]  # the columns kept for the results, as before
    assert shown(q="a3")[0] == ["A3"]  # the ID, as before

    ids, html = shown(q="haskell")
    assert ids == [] and "No candidate matches “haskell”." in html
    assert "No candidates to show yet" not in html
    ids, html = shown(min_overall="9", max_overall="2")
    assert ids == [] and "No candidate matches these filters." in html


# --- "Read jobs file" on the check page ----------------------------------------------------


def _start_form(file: Any) -> dict[str, Any]:
    """The check page's form as a person leaves it, no position column chosen."""
    layout = csvio.sniff(file.abspath)
    roles = services.default_roles(layout.header, "applicant_id")
    return {
        "id_column": "applicant_id",
        "rubric": services.rubric_default().pk,
        "model": "gemma3:12b",
        "notify_email": "",
        "position_column": "",
        **{f"role_{i}": roles[c] for i, c in enumerate(layout.header)},
    }


def test_reading_a_jobs_file_is_no_refused_start_and_a_bad_one_reads_as_an_error(
    engine_settings: Any, owner: Any, tmp_path: Path
) -> None:
    file = upload(write_candidates(tmp_path / "candidates.csv"), owner)
    client = signed_in(owner)
    prepare = reverse("web:prepare", args=[file.id])

    with open(write_jobs_file(tmp_path / "jobs.csv"), "rb") as handle:
        page = client.post(
            prepare, {**_start_form(file), "import_jobs": "1", "jobs_file": handle}, follow=True
        )
    html = page.content.decode()
    assert page.status_code == 200
    assert '<p class="flash flash-success" role="status">jobs.csv: 5 jobs read, 5 new.</p>' in html
    assert "Scoring did not start" not in html and "error-summary" not in html
    assert 'class="error"' not in html.split('id="jobs"', 1)[1].split("</section>", 1)[0]

    bad = tmp_path / "bad.csv"
    bad.write_text("colour,size\nred,big\n", encoding="utf-8")
    with open(bad, "rb") as handle:
        page = client.post(
            prepare, {**_start_form(file), "import_jobs": "1", "jobs_file": handle}, follow=True
        )
    html = page.content.decode()
    assert re.search(r'<p class="flash flash-error" role="alert">bad\.csv: [^<]+</p>', html), (
        re.findall(r'<p class="flash[^>]*>[^<]*', html)
    )
    assert "Scoring did not start" not in html


# --- The run page: technical figures behind "Details" --------------------------------------


def test_the_run_pages_technical_figures_are_behind_details(run: Run, owner: Any) -> None:
    assert run.opts.concurrency and run.prompt_hash
    page = signed_in(owner).get(reverse("web:run", args=[run.public_id])).content.decode()

    jargon = ["requests in flight per worker", run.prompt_hash[:12], "tokens", "Tokens"]
    assert all(word in page for word in jargon)
    first_sight = _without_details(page)
    assert [word for word in jargon if word in first_sight] == []
    details = re.findall(r"<details\b[^>]*>\s*<summary[^>]*>([^<]*)</summary>", page)
    assert details.count("Details") == 2  # the run's, the progress's
    # What a recruiter needs stays in sight.
    for shown in ("Scored", "Speed", "Time left", "Elapsed", "Rubric:", "Model: gemma3:12b"):
        assert shown in first_sight


# --- Explain the shortlist: its count is the shortlist's -----------------------------------


def test_explain_the_shortlist_on_screen_says_and_explains_its_own_count(
    run: Run, owner: Any
) -> None:
    client = signed_in(owner)
    assert selectors.shortlist_size(run) == 3  # the report's: 10% of 30
    query = {"top": "10", "sort": "-overall"}

    page = client.get(reverse("web:run", args=[run.public_id]), query).content.decode()
    buttons = re.findall(r"<button[^>]*>(Explain[^<]*)</button>", page)
    assert "Explain these 10" in buttons
    assert all("shortlist (3)" not in b for b in buttons)  # no other count beside a top 10
    form = re.search(
        r'<form[^>]*action="([^"]*explain-shortlist[^"]*)"[^>]*>\s*(?:<[^>]+>\s*)*'
        r"<button[^>]*>Explain these 10<",
        page,
    )
    assert form, "the button posts the shortlist on screen"

    answer = client.post(form.group(1).replace("&amp;", "&"), follow=True).content.decode()

    assert "Explaining the 10 shortlisted candidates" in answer
    on_screen = selectors.results(run, top=10, sort="-overall").items
    explained = set(Explanation.objects.filter(item__run=run).values_list("item_id", flat=True))
    assert explained == {item.pk for item in on_screen}


# --- Plain figures -------------------------------------------------------------------------


def test_consistency_in_words_never_says_at_least_100_percent() -> None:
    always = {"sample": 20, "criteria": {"overall": {"exact_agreement": 1.0, "mean_abs_diff": 0}}}
    nearly = {
        "sample": 300,
        "criteria": {"overall": {"exact_agreement": 0.997, "mean_abs_diff": 0.003}},
    }

    assert "the same score every time on every criterion" in audit.consistency_reading(always)
    assert "at least 99% of the time" in audit.consistency_reading(nearly)
    assert "100%" not in audit.consistency_reading(nearly)


def test_the_expected_duration_of_a_small_file_is_never_about_0_s(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path
) -> None:
    earlier = start_run(candidates_csv(tmp_path, 40), owner=owner)
    assert earlier.status == Run.Status.COMPLETED
    small = upload(candidates_csv(tmp_path, 2, seed=5, name="two.csv"), owner)

    page = signed_in(owner).get(reverse("web:prepare", args=[small.id])).content.decode()

    said = re.search(r"Expected duration for 2 candidates: <strong>([^<]+)</strong>", page)
    assert said, "an estimate from the earlier run"
    assert said.group(1) == "about a second"


# --- The report CSV's token figures --------------------------------------------------------


def test_the_report_csv_writes_token_figures_in_plain_cells(run: Run, owner: Any) -> None:
    response = signed_in(owner).get(reverse("web:run_report", args=[run.public_id]))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))

    assert not [r for r in rows if r["value"].startswith(("{", "["))]
    figures = {r["criterion"]: r["value"] for r in rows if r["section"] == "run"}
    assert figures["tokens_prompt"] == str(run.prompt_tokens)
    assert figures["tokens_output"] == str(run.completion_tokens)
    assert "tokens" not in figures


# --- Download names ------------------------------------------------------------------------


def test_shortlist_downloads_are_named_after_the_run(run: Run, owner: Any) -> None:
    services.run_rename(run=run, name="March intake: nurses/ICU (2)")
    client = signed_in(owner)

    top = client.get(reverse("web:run_shortlist_download", args=[run.public_id]), {"top": "5"})
    listed = client.get(reverse("web:run_shortlist_download", args=[run.public_id]))

    assert 'filename="march-intake-nursesicu-2-top-5.csv"' in top["Content-Disposition"]
    assert 'filename="march-intake-nursesicu-2-list.csv"' in listed["Content-Disposition"]
    assert run.public_id not in top["Content-Disposition"]


def test_the_shortlists_per_job_are_named_after_the_run(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path
) -> None:
    rows = [
        {"id": f"C{i}", "job_title": ("Nurse", "Cook")[i % 2], "skills": f"skill {i}"}
        for i in range(6)
    ]
    run = start_run(write_csv(tmp_path / "jobs.csv", rows), owner=owner, name="Spring fair")
    assert run.status == Run.Status.COMPLETED, run.status_message
    response = signed_in(owner).get(
        reverse("web:run_shortlist_per_job_download", args=[run.public_id]), {"top": "2"}
    )
    assert 'filename="spring-fair-top-2-per-job.csv"' in response["Content-Disposition"]


# --- Error pages ---------------------------------------------------------------------------


def _styled(html: str) -> bool:
    return '<link rel="stylesheet" href="/static/css/app.css">' in html and "hrbatch" in html


def test_error_pages_are_the_sites_own_with_debug_off(
    owner: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DEBUG = False
    client = signed_in(owner)

    missing = client.get("/runs/batch_nothing_here/")
    assert missing.status_code == 404
    html = missing.content.decode()
    assert _styled(html) and "Page not found" in html and 'href="/"' in html
    assert 'aria-current="page"' in html or "Sign out" in html  # signed in: the menu is there

    refused = Client(HTTP_HOST="attacker.example").get("/")
    assert refused.status_code == 400
    assert _styled(refused.content.decode()) and "Bad request" in refused.content.decode()

    forms = Client(enforce_csrf_checks=True)
    forms.force_login(owner)
    expired = forms.post(reverse("web:run_rename", args=["batch_x"]), {"name": "x"})
    assert expired.status_code == 403
    html = expired.content.decode()
    assert _styled(html) and "reload the page" in html

    from web.views import runs

    def broken(request: Any) -> Any:
        raise RuntimeError("a fault the person must not see")

    monkeypatch.setattr(runs, "visible_runs", broken)
    crashed = Client(raise_request_exception=False)
    crashed.force_login(owner)
    answer = crashed.get("/")
    assert answer.status_code == 500
    html = answer.content.decode()
    assert _styled(html) and "Something went wrong" in html
    assert "a fault the person must not see" not in html


def test_the_403_page_is_the_sites_own(rf: Any, settings: Any) -> None:
    from django.core.exceptions import PermissionDenied
    from django.views import defaults

    settings.DEBUG = False
    response = defaults.permission_denied(rf.get("/"), PermissionDenied())
    html = response.content.decode()
    assert response.status_code == 403 and _styled(html) and "Not allowed" in html


# --- In the browser: colours, the job dropdown, Details that stay open ---------------------

PASSWORD = "candidate-pool-2026"
LONG_TITLE = (
    "Senior Data Engineer, Platform Infrastructure and Analytics Enablement "
    "(Remote within EMEA, four days a week, reporting to the Head of Data)"
)


def _right_overflow(page: Any, selector: str) -> list[float]:
    """How far each element past `selector` reaches beyond its card's right edge."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].map(e =>
            e.getBoundingClientRect().right - e.closest('.card').getBoundingClientRect().right)""",
        selector,
    )


@pytest.mark.slow
def test_recruiter_pages_in_the_browser(tmp_path: Path) -> None:
    """The check page after a good and a bad jobs file (a success looks like one, a
    failure like an error); a job with a long title in the results' Job filter (inside its
    card); the run page's Details, which stay open while the progress refreshes."""
    jobs = [dict(job) for job in JOBS]
    jobs[0]["title"] = LONG_TITLE
    # 2 slots x 1 s: 60 candidates take 30 s or more, many refreshes of the progress.
    with FakeOllama(slots=2, latency=1.0) as fake:
        env = live.app_env(tmp_path / "data", fake, HRBATCH_CONCURRENCY="2")
        with served(env, PASSWORD) as url, chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(PATIENCE_MS)
            page.goto(url + "/accounts/login/")
            page.get_by_label("Username").fill("hana")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.goto(url + "/runs/new/")
            page.set_input_files("#id_file", str(write_candidates(tmp_path / "c.csv", 10)))
            page.get_by_role("button", name="Upload and check").click()
            expect(page.locator("#row-checks")).to_contain_text("Every row can be scored")

            # A bad jobs file: an alert, red like the other errors.
            bad = tmp_path / "bad.csv"
            bad.write_text("colour,size\nred,big\n", encoding="utf-8")
            page.get_by_label("Add jobs from a file").set_input_files(str(bad))
            page.get_by_role("button", name="Read jobs file").click()
            alert = page.get_by_role("alert").filter(has_text="bad.csv")
            expect(alert).to_be_visible()
            red = alert.evaluate("e => getComputedStyle(e).backgroundColor")
            page.screenshot(path=str(SHOTS / "i17-22-jobs-file-refused.png"))

            # A good one: a green message, nothing red.
            page.get_by_label("Add jobs from a file").set_input_files(
                str(write_jobs_file(tmp_path / "jobs.csv", jobs))
            )
            page.get_by_role("button", name="Read jobs file").click()
            success = page.get_by_role("status").filter(has_text="jobs.csv: 5 jobs read")
            expect(success).to_be_visible()
            expect(page.locator(".error-summary")).to_have_count(0)
            green = success.evaluate("e => getComputedStyle(e).backgroundColor")
            settled(page)
            page.screenshot(path=str(SHOTS / "i17-22-jobs-file-read.png"))
            danger = page.evaluate(
                """() => { const p = document.createElement('p'); p.className = 'error';
                    p.setAttribute('role', 'alert'); document.body.append(p);
                    return getComputedStyle(p).backgroundColor; }"""
            )
            assert red == danger != green, (red, danger, green)

            # Every position mapped; the long title's dropdown stays in its card.
            page.get_by_label("data engineer", exact=True).select_option(
                label=f"{LONG_TITLE} (your copy v1)"
            )
            settled(page)
            page.get_by_label("Warehouse Lead", exact=True).select_option(
                label="Score without a job"
            )
            settled(page)
            assert max(_right_overflow(page, "#jobs-matching select")) <= 0
            page.get_by_role("button", name="Start scoring 60 candidates").click()

            # The run page: the Job filter stays inside the results' card.
            expect(page.locator("#progress .badge")).to_have_text("Scoring")
            page.reload()  # the results' table once the file is read
            job_filter = page.get_by_label("Job", exact=True)
            expect(job_filter).to_contain_text(LONG_TITLE[:40])
            assert max(_right_overflow(page, "#results select")) <= 0
            assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
            page.locator("#results .results-head").screenshot(
                path=str(SHOTS / "i17-22-job-filter.png")
            )

            # Details opened stays open while the progress refreshes every 2 s.
            details = page.locator("#progress details")
            tokens = details.get_by_text("Prompt tokens per candidate")
            expect(tokens).to_be_hidden()
            details.locator("summary").click()
            expect(tokens).to_be_visible()
            for _ in range(2):  # the card is replaced: it loses the mark set here
                page.evaluate("() => { document.querySelector('#progress').dataset.seen = '1'; }")
                page.wait_for_function("() => !document.querySelector('#progress').dataset.seen")
                expect(page.locator("#progress details")).to_have_attribute("open", "")
            expect(
                page.locator("#progress details").get_by_text("Prompt tokens per candidate")
            ).to_be_visible()
            page.locator("#progress").screenshot(path=str(SHOTS / "i17-22-run-details.png"))
