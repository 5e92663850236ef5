"""Results per job (issue 11): the results filtered by job, a shortlist of the best N of
every job in one download, the job in every CSV of a run with jobs, and the consistency
and adverse-impact figures of each job where it has enough candidates.

Runs are scored on the fake Ollama server: the 35-column résumé file with its job columns
(tests/fixtures: 16 jobs of 1 to 7 candidates; the public file's 25 under make
test-public-data) and synthetic candidates with 3 large jobs, a small one, two
jobs sharing a title and candidates without a job."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect

from devtools import live
from devtools.fake_ollama import FakeOllama
from devtools.synthetic import generate_candidates
from evaluations import export, selectors
from evaluations.models import Item, Job, Run
from tests.support.browser import SHOTS, chromium, served, settled
from tests.support.files import read_csv, resume_rows, resumes, write_csv
from tests.support.processes import ROOT, evaluate, finish, subprocess_env
from tests.support.runs import report_json, start_run

pytestmark = pytest.mark.django_db(transaction=True)

CRITERIA = ["technical_skills", "communication", "cultural_fit", "leadership_potential", "overall"]
LARGE = {
    "Data Engineer": "SQL; Spark; Python",
    "Staff Nurse": "BLS; patient care",
    "Accountant": "IFRS; Excel",
}


def jobs_csv(path: Path, *, large: int = 60) -> Path:
    """Synthetic candidates applying for jobs named in their rows (job_title and
    skills_required: job columns by name), with sex and race/ethnicity (audit only by
    name): `large` for each of 3 jobs, interleaved as applications come; 6 for a pastry
    chef; 3 for a second "Staff Nurse" job with no requirements (a job of its own: its
    text differs); 4 without a job."""
    titles = list(LARGE)
    rows = []
    for i, person in enumerate(generate_candidates(3 * large + 13, seed=5)):
        person.pop("position")
        if i < 3 * large:
            title, need = titles[i % 3], LARGE[titles[i % 3]]
        elif i < 3 * large + 6:
            title, need = "Pastry Chef", "Lamination; French pastry"
        elif i < 3 * large + 9:
            title, need = "Staff Nurse", ""
        else:
            title, need = "", ""
        rows.append(
            {
                **person,
                "job_title": title,
                "skills_required": need,
                "sex": ("Female", "Male")[i % 2],
                "race_ethnicity": ("Asian", "Black", "Hispanic", "White")[(i // 2) % 4],
            }
        )
    return write_csv(path, rows)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _job_options(page: str) -> list[tuple[str, str, int]]:
    """The job filter's choices on a page: (value, name, candidates)."""
    found = re.search(r'<select name="job"[^>]*>(.*?)</select>', page, re.S)
    assert found, "no job filter on the page"
    options = re.findall(r'<option value="([^"]*)"[^>]*>(.*?)</option>', found.group(1), re.S)
    assert options[0] == ("", "all jobs")
    out = []
    for value, text in options[1:]:
        name, count = re.fullmatch(r"(.*) \((\d+)\)", html.unescape(text)).groups()
        out.append((value, name, int(count)))
    return out


def _shown_ids(page: str) -> list[str]:
    """The candidates in the results table, in its order."""
    return re.findall(r'<td class="candidate"><a href="[^"]+">([^<]+)</a>', page)


def _csv(response: Any) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def _rank_key(item: Item, key: str = "overall") -> tuple[int, int, int]:
    """The shortlist's order, worked out here: the score, then the sum of the others
    (the same order as their average), then the row."""
    scores = item.scores
    return (-scores[key], -sum(scores[k] for k in CRITERIA if k != key), item.line)


def _top(items: list[Item], n: int) -> tuple[list[Item], int]:
    """The best `n` of `items` and how many more are tied with the last of them."""
    ranked = sorted(items, key=_rank_key)
    chosen = ranked[:n]
    if len(chosen) < n:
        return chosen, 0
    last = _rank_key(chosen[-1])[:2]
    return chosen, sum(_rank_key(i)[:2] == last for i in ranked[n:])


# --- The filter ----------------------------------------------------------------------------


@pytest.mark.resumes35
def test_the_resume_files_jobs_filter_the_results_and_each_is_too_few_to_say(
    consistency: Any, fake_ollama: FakeOllama, owner: Any
) -> None:
    run = start_run(resumes(), owner=owner, id_column=None)
    rows = resume_rows()
    assert run.status == Run.Status.COMPLETED, run.status_message
    assert run.done_count == len(rows)
    client = _client(owner)
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()

    # One choice per job of the file, with its candidates counted from the file itself.
    titles = Counter(" ".join(row["job_position_name"].split()) for row in rows)
    options = _job_options(page)
    assert {name: count for _, name, count in options} == dict(titles)
    assert len(options) == len(titles) > 10
    assert "none" not in [value for value, _, _ in options]
    assert [name for _, name, _ in options] == sorted(titles, key=str.casefold)
    # The counts are the database's too.
    for value, _, count in options:
        assert Item.objects.filter(run=run, job_id=int(value)).count() == count

    value, name, count = max(options, key=lambda option: option[2])
    shown = client.get(reverse("web:run_results", args=[run.public_id]), {"job": value})
    text = shown.content.decode()
    # The job's candidates: those of the file's rows naming it, in the file's order.
    lines = [i + 2 for i, row in enumerate(rows) if row["job_position_name"].strip() == name]
    chosen = Item.objects.filter(run=run, job_id=int(value)).order_by("line")
    assert list(chosen.values_list("line", flat=True)) == lines and len(lines) == count > 2
    assert _shown_ids(text) == list(chosen.values_list("custom_id", flat=True))
    assert f'<option value="{value}" selected>' in text  # the filter shows its choice
    # The address keeps the filter: a reload or a shared link shows the same list.
    pushed = client.get(
        reverse("web:run_results", args=[run.public_id]), {"job": value}, HTTP_HX_REQUEST="true"
    )
    assert f"job={value}" in pushed["HX-Push-Url"]
    # With a score range: both filters at once.
    ranged = client.get(
        reverse("web:run_results", args=[run.public_id]), {"job": value, "min_overall": "5"}
    ).content.decode()
    kept = [
        i.custom_id
        for i in Item.objects.filter(run=run, job_id=int(value)).order_by("line")
        if i.scores["overall"] >= 5
    ]
    assert _shown_ids(ranged) == kept

    # The scored CSV names each candidate's job, after the file's own columns.
    downloaded = _csv(client.get(reverse("web:run_download", args=[run.public_id])))
    header = list(downloaded[0])
    assert header[header.index("job") - 1] == list(rows[0])[-1]
    assert header[header.index("job") + 1] == CRITERIA[0]
    assert [r["job"] for r in downloaded] == [
        " ".join(r["job_position_name"].split()) for r in rows
    ]
    stored = read_csv(Path(run.output_file.abspath))  # the file `evaluate --out` writes
    assert [r["job"] for r in stored] == [r["job"] for r in downloaded]

    # Every job's best 2 in one file: a shortlist per job, each as the job's own shortlist.
    per_job = _csv(
        client.get(
            reverse("web:run_shortlist_per_job_download", args=[run.public_id]), {"top": "2"}
        )
    )
    assert [job for job, _ in _stretches(r["job"] for r in per_job)] == sorted(
        titles, key=str.casefold
    )
    assert len(per_job) == sum(min(2, n) for n in titles.values())
    for value, name, _ in options:
        best = selectors.results(run, top=2, job=value).items
        mine = [r for r in per_job if r["job"] == name]
        assert [r["career_objective"] for r in mine] == [
            i.input.get("career_objective", "") for i in best
        ], name

    # Per job: each far too few for figures of its own, said plainly.
    report = report_json(run)
    assert len(report["jobs"]) == len(titles)
    assert sum(j["candidates"] for j in report["jobs"]) == len(rows)
    for job in report["jobs"]:
        assert job["consistency"] is None and job["impact"] is None
        assert job["consistency_note"].startswith("too few candidates to say")
        assert job["impact_note"] == "no audit-only columns in this run"
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()
    assert "Per job" in page
    assert page.count(">too few candidates to say</span>") == len(titles)
    assert page.count(">no audit-only columns in this run</span>") == len(titles)


def test_a_list_download_keeps_to_the_job_and_the_other_filters(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path
) -> None:
    run = start_run(jobs_csv(tmp_path / "c.csv", large=20), owner=owner, roles=None)
    assert run.status == Run.Status.COMPLETED, run.status_message
    client = _client(owner)
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()

    options = _job_options(page)
    # Two jobs share a title: numbered, oldest first; the candidates without a job last.
    assert [(name, count) for _, name, count in options] == [
        ("Accountant", 20),
        ("Data Engineer", 20),
        ("Pastry Chef", 6),
        ("Staff Nurse #1", 20),
        ("Staff Nurse #2", 3),
        ("No job", 4),
    ]
    nurses = Job.objects.filter(run=run, title="Staff Nurse").order_by("id")
    assert [o[0] for o in options[3:5]] == [str(job.pk) for job in nurses]
    assert nurses[0].description.endswith("BLS; patient care")
    assert options[-1][0] == selectors.NO_JOB

    url = reverse("web:run_shortlist_download", args=[run.public_id])
    nurse = str(nurses[0].pk)
    rows = _csv(client.get(url, {"job": nurse, "min_overall": "4", "status": "done"}))
    expected = [
        i
        for i in Item.objects.filter(run=run, job=nurses[0], status="done").order_by("line")
        if i.scores["overall"] >= 4
    ]
    assert [r["id"] for r in rows] == [i.custom_id for i in expected]
    assert {r["job"] for r in rows} == {"Staff Nurse #1"}
    # The candidates without a job, alone.
    rows = _csv(client.get(url, {"job": "none"}))
    assert [r["id"] for r in rows] == list(
        Item.objects.filter(run=run, job=None).order_by("line").values_list("custom_id", flat=True)
    )
    assert len(rows) == 4 and {r["job"] for r in rows} == {""}
    # The shortlist of one job, as shown on the page and downloaded.
    rows = _csv(client.get(url, {"job": nurse, "top": "5"}))
    chosen, _ = _top(list(Item.objects.filter(run=run, job=nurses[0], status="done")), 5)
    assert [r["id"] for r in rows] == [i.custom_id for i in chosen]
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"]


# --- The shortlist per job -----------------------------------------------------------------


def test_one_download_holds_the_top_n_of_every_job_with_its_ties(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path
) -> None:
    run = start_run(jobs_csv(tmp_path / "c.csv"), owner=owner, roles=None)
    assert run.status == Run.Status.COMPLETED, run.status_message
    labels = run.job_labels()
    by_job: dict[str, list[Item]] = {}
    for item in Item.objects.filter(run=run, status="done"):
        by_job.setdefault(labels.get(item.job_id, ""), []).append(item)
    # A size that cuts through a tie in the first job (60 random scores always tie).
    first = sorted(by_job["Accountant"], key=_rank_key)
    n = next(k for k in range(3, 40) if _rank_key(first[k - 1])[:2] == _rank_key(first[k])[:2])
    client = _client(owner)
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()
    assert "Shortlist top" in page and "Download shortlists per job" in page

    response = client.get(
        reverse("web:run_shortlist_per_job_download", args=[run.public_id]), {"top": str(n)}
    )
    assert f"top-{n}-per-job.csv" in response["Content-Disposition"]
    rows = _csv(response)

    header = list(rows[0])
    assert header[:2] == ["job", "rank"] and header.count("job") == 1
    assert header[-2:] == [export.JOB_SCORED, export.JOB_TIED]
    # Job after job, in the order of their names; the candidates without a job last.
    order = ["Accountant", "Data Engineer", "Pastry Chef", "Staff Nurse #1", "Staff Nurse #2", ""]
    assert [job for job, _ in _stretches(r["job"] for r in rows)] == order
    ties = {}
    for job in order:
        mine = [r for r in rows if r["job"] == job]
        chosen, tied = _top(by_job[job], n)
        assert [r["id"] for r in mine] == [i.custom_id for i in chosen], job
        assert [r["rank"] for r in mine] == [str(k) for k in range(1, len(chosen) + 1)]
        assert [int(r["overall"]) for r in mine] == [i.scores["overall"] for i in chosen]
        assert {r[export.JOB_SCORED] for r in mine} == {str(len(by_job[job]))}
        assert {r[export.JOB_TIED] for r in mine} == {str(tied)}
        ties[job] = tied
        # The same shortlist as the results page's for that job alone.
        value = next((str(pk) for pk, name in labels.items() if name == job), selectors.NO_JOB)
        alone = selectors.results(run, top=n, job=value)
        assert [i.pk for i in alone.items] == [i.pk for i in chosen]
        assert alone.shortlist is not None and alone.shortlist.tied_beyond == tied
    assert ties["Accountant"] > 0
    # A small job: all its scored candidates when they are fewer than N.
    assert len([r for r in rows if r["job"] == "Pastry Chef"]) == min(n, 6)
    assert len([r for r in rows if r["job"] == "Accountant"]) == n

    # The filters in effect apply to every job's shortlist: scores from 3 to 8, by
    # communication, one job.
    filtered = _csv(
        client.get(
            reverse("web:run_shortlist_per_job_download", args=[run.public_id]),
            {"top": "4", "min_overall": "3", "max_overall": "8", "sort": "-communication"},
        )
    )
    for job in order:
        kept = [i for i in by_job[job] if 3 <= i.scores["overall"] <= 8]
        expected = sorted(kept, key=lambda i: _rank_key(i, "communication"))[:4]
        assert [r["id"] for r in filtered if r["job"] == job] == [i.custom_id for i in expected]
    data_engineer = next(pk for pk, name in labels.items() if name == "Data Engineer")
    one = _csv(
        client.get(
            reverse("web:run_shortlist_per_job_download", args=[run.public_id]),
            {"top": "4", "job": str(data_engineer)},
        )
    )
    assert {r["job"] for r in one} == {"Data Engineer"} and len(one) == 4


def _stretches(values: Any) -> list[tuple[str, int]]:
    """Consecutive runs of equal values: (value, length)."""
    runs: list[tuple[str, int]] = []
    for value in values:
        if runs and runs[-1][0] == value:
            runs[-1] = (value, runs[-1][1] + 1)
        else:
            runs.append((value, 1))
    return runs


# --- Figures per job -----------------------------------------------------------------------


def test_consistency_and_impact_per_job_where_the_job_has_enough_candidates(
    consistency: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path
) -> None:
    # Half the candidates re-scored: every other row, about 30 per large job, 3 for the
    # pastry chef: under the 20 a run's sample holds at least.
    consistency.HRBATCH = {**consistency.HRBATCH, "CONSISTENCY_PCT": 50.0}
    run = start_run(jobs_csv(tmp_path / "c.csv"), owner=owner, roles=None)
    assert run.status == Run.Status.COMPLETED, run.status_message
    assert selectors.audit_columns(run) == ["sex", "race_ethnicity"]

    report = report_json(run)

    assert report["job_minimums"] == {"impact_scored": 50, "consistency_rescored": 20}
    jobs = {job["job"]: job for job in report["jobs"]}
    assert list(jobs) == [
        "Accountant",
        "Data Engineer",
        "Pastry Chef",
        "Staff Nurse #1",
        "Staff Nurse #2",
        "No job",
    ]
    labels = run.job_labels()
    for name in LARGE:
        label = "Staff Nurse #1" if name == "Staff Nurse" else name
        job = jobs[label]
        pk = next(pk for pk, text in labels.items() if text == label)
        items = list(Item.objects.filter(run=run, job_id=pk, status="done"))
        assert job["candidates"] == job["scored"] == len(items) == 60
        assert job["shortlist_size"] == 6  # its own best 10%
        # Consistency from this job's re-scored candidates only.
        again = [i for i in items if Item.RECHECK_SCORES in i.result]
        assert job["rescored"] == job["consistency"]["sample"] == len(again) >= 20
        for key in CRITERIA:
            same = sum(i.scores[key] == i.result[Item.RECHECK_SCORES][key] for i in again)
            figures = job["consistency"]["criteria"][key]
            assert figures["exact_agreement"] == round(same / len(again), 4)
        chosen, _ = _top(items, 6)
        cutoff = chosen[-1].scores["overall"]
        assert job["consistency"]["cutoff"] == cutoff
        assert job["consistency"]["crossing_cutoff"] == sum(
            (i.scores["overall"] >= cutoff) != (i.result[Item.RECHECK_SCORES]["overall"] >= cutoff)
            for i in again
        )
        assert job["consistency"]["reading"].startswith("Scores are")
        # Adverse impact among this job's candidates: selected = above the job's median,
        # or in the job's own shortlist.
        median = statistics.median(i.scores["overall"] for i in items)
        women = [i for i in items if i.extra["sex"] == "Female"]
        rows = {(r["column"], r["group"], r["basis"]): r for r in job["impact"]}
        above = rows[("sex", "Female", "above_median")]
        assert above["count"] == len(women) == 30
        assert above["selected"] == sum(i.scores["overall"] > median for i in women)
        picked = {i.pk for i in chosen}
        assert rows[("sex", "Female", "shortlist")]["selected"] == sum(
            i.pk in picked for i in women
        )
        assert (
            sum(r["selected"] for k, r in rows.items() if k[0] == "sex" and k[2] == "shortlist")
            == 6
        )
        ratios = [r for r in job["impact"] if r["impact_ratio"] is not None]
        lowest = min(
            (r for r in ratios if r["basis"] == "above_median"), key=lambda r: r["impact_ratio"]
        )
        assert job["impact_lowest"]["above_median"]["impact_ratio"] == lowest["impact_ratio"]
    # The small jobs and the candidates without a job: too few, and how many are needed.
    chef = jobs["Pastry Chef"]
    assert chef["consistency"] is None and chef["impact"] is None
    assert chef["consistency_note"] == (
        f"too few candidates to say ({chef['rescored']} re-scored; 20 needed)"
    )
    assert chef["impact_note"] == "too few candidates to say (6 scored; 50 needed)"
    assert jobs["No job"]["candidates"] == 4 and jobs["No job"]["impact"] is None
    # The run's own figures are still those of every candidate.
    assert (
        report["consistency"]["sample"]
        == Item.objects.filter(run=run, result__has_key=Item.RECHECK_SCORES).count()
    )

    # The run page: a compact table, one row per job, the small ones said plainly.
    client = _client(owner)
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()
    table = re.search(r'<table class="table compact per-job-figures">(.*?)</table>', page, re.S)
    assert table is not None
    body = html.unescape(table.group(1))
    rows_html = re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", body, re.S)
    # The jobs with figures of their own first, each group in the order of the names.
    assert [name for name, _ in rows_html] == sorted(
        jobs, key=lambda name: not (jobs[name]["consistency"] or jobs[name]["impact"])
    )
    cells = dict(rows_html)
    assert "too few candidates to say (6 scored; 50 needed)" in cells["Pastry Chef"]
    accountant = jobs["Accountant"]
    assert f'<td class="num">{accountant["rescored"]}</td>' in cells["Accountant"]
    assert f"({accountant['consistency_lowest']['label']})" in cells["Accountant"]
    low = jobs["Accountant"]["impact_lowest"]["shortlist"]
    assert f"{low['impact_ratio']} ({low['column']}: {low['group']})" in cells["Accountant"]
    # The report CSV: every figure of each job, the job in its own column.
    report_csv = _csv(client.get(reverse("web:run_report", args=[run.public_id])))
    mine = [r for r in report_csv if r["job"] == "Accountant" and r["section"] == "impact"]
    assert len(mine) == len(jobs["Accountant"]["impact"])
    assert any(
        r["job"] == "Pastry Chef" and r["value"].startswith("too few candidates to say")
        for r in report_csv
    )
    # And in words, from the terminal.
    out = io.StringIO()
    call_command("run_report", run.public_id, stdout=out)
    text = out.getvalue()
    assert (
        "Per job (consistency from 20 re-scored candidates, adverse impact from 50 scored):" in text
    )
    assert "  Pastry Chef: 6 of 6 scored" in text
    assert "adverse impact: too few candidates to say (6 scored; 50 needed)" in text


# --- The command line ----------------------------------------------------------------------


def test_evaluate_out_and_run_report_carry_the_jobs(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    source = jobs_csv(tmp_path / "c.csv", large=6)
    out = tmp_path / "scored.csv"
    env = subprocess_env(tmp_path, fake_ollama)

    finish(evaluate(source, out, env), timeout=300)

    rows = read_csv(out)
    original = read_csv(source)
    assert list(rows[0])[: len(original[0])] == list(original[0])
    assert list(rows[0])[len(original[0])] == "job"
    expected = {"Staff Nurse": "Staff Nurse #1"}
    second_nurse = range(3 * 6 + 6, 3 * 6 + 9)
    assert [r["job"] for r in rows] == [
        "Staff Nurse #2" if i in second_nurse else expected.get(o["job_title"], o["job_title"])
        for i, o in enumerate(original)
    ]
    done = subprocess.run(
        [sys.executable, "manage.py", "run_report", "--latest", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(done.stdout)
    assert [j["job"] for j in report["jobs"]][-1] == "No job"
    assert sum(j["candidates"] for j in report["jobs"]) == len(original)
    assert all(j["impact"] is None for j in report["jobs"])


def test_a_run_without_jobs_has_no_job_filter_nor_job_column(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path
) -> None:
    rows = list(generate_candidates(12, seed=3))
    run = start_run(write_csv(tmp_path / "c.csv", rows), owner=owner)
    assert run.status == Run.Status.COMPLETED
    client = _client(owner)
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()
    assert 'name="job"' not in page and "Download shortlists per job" not in page
    assert "job" not in list(_csv(client.get(reverse("web:run_download", args=[run.public_id])))[0])
    assert report_json(run)["jobs"] == []


# --- In a browser --------------------------------------------------------------------------

PASSWORD = "fifty-positions-2026"


@pytest.fixture
def browser_page(tmp_path: Path) -> Any:
    """Chromium on `manage.py serve` (fresh data, one user, Hana) with the fake Ollama
    behind it: (page, the app's address)."""
    with FakeOllama(slots=4, latency=0.02) as fake:
        env = live.app_env(tmp_path / "data", fake, HRBATCH_CONCURRENCY="4")
        with served(env, PASSWORD) as url, chromium() as browser:
            context = browser.new_context(
                viewport={"width": 1366, "height": 860}, accept_downloads=True
            )
            page = context.new_page()
            page.set_default_timeout(20_000)
            yield page, url
            context.close()


def _downloaded(page: Page, button: str) -> list[dict[str, str]]:
    with page.expect_download() as download_info:
        page.get_by_role("button", name=button).click()
    with open(download_info.value.path(), encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_a_recruiter_picks_a_job_and_downloads_every_jobs_shortlist(
    browser_page: tuple[Page, str], tmp_path: Path
) -> None:
    page, app = browser_page
    source = jobs_csv(tmp_path / "applicants-fifty-positions.csv", large=50)
    page.goto(app + "/")
    page.get_by_label("Username").fill("hana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Score a new file").first.click()
    page.set_input_files("#id_file", str(source))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.locator("#jobs-summary")).to_contain_text("5 jobs")
    page.get_by_role("button", name="Start scoring 163 candidates").click()
    expect(page.locator("#progress .badge")).to_have_text("Finished", timeout=90_000)
    page.reload()

    # Every job's best 3 in one file, job after job.
    settled(page)
    page.get_by_label("Candidates per job").fill("3")
    rows = _downloaded(page, "Download shortlists per job")
    assert [(job, n) for job, n in _stretches(r["job"] for r in rows)] == [
        ("Accountant", 3),
        ("Data Engineer", 3),
        ("Pastry Chef", 3),
        ("Staff Nurse #1", 3),
        ("Staff Nurse #2", 3),
        ("", 3),
    ]
    assert [r["rank"] for r in rows[:3]] == ["1", "2", "3"]

    # One job: its 20 candidates in the table, the address keeping the choice.
    page.get_by_label("Job", exact=True).select_option(label="Data Engineer (50)")
    settled(page)
    table = page.locator("#results table.results tbody tr")
    expect(table).to_have_count(50)
    expect(page.locator("#results td.job").filter(has_text="Data Engineer")).to_have_count(50)
    expect(page).to_have_url(re.compile(r"[?&]job=\d+"))
    page.get_by_label("Candidates per job").fill("5")
    page.locator("#results").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "results-per-job-01-filtered.png"))
    page.locator("#results .results-head").screenshot(
        path=str(SHOTS / "results-per-job-02-filters.png")
    )
    figures = page.locator("table.per-job-figures")
    # The large jobs have figures of their own, the small ones say why not.
    expect(figures.get_by_role("row").filter(has_text="Pastry Chef")).to_contain_text(
        "too few candidates to say"
    )
    expect(figures.get_by_role("row").filter(has_text="Accountant")).to_contain_text(
        re.compile(r"\d \((sex|race_ethnicity)[^:]*: ")
    )
    figures.screenshot(path=str(SHOTS / "results-per-job-03-figures.png"))
    rows = _downloaded(page, "Download shortlists per job")
    assert [r["job"] for r in rows] == ["Data Engineer"] * 5
    overall = [int(r["overall"]) for r in rows]
    assert overall == sorted(overall, reverse=True)
    assert {r["scored_in_job"] for r in rows} == {"50"}
