"""Reviewing a scored run like a recruiter (issue 9): decisions and notes with their
history, the shortlist download, explanations on demand, the run page's report."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from devtools.fake_ollama import FakeOllama
from evaluations import explain, selectors, services
from evaluations.models import Explanation, Item, ItemDecision, Run
from tests.support.files import candidates_csv, write_csv
from tests.support.runs import start_run

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def run(consistency: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path) -> Run:
    scored = start_run(candidates_csv(tmp_path, 30), owner=owner)
    assert scored.status == Run.Status.COMPLETED, scored.status_message
    return scored


def test_a_decision_and_a_note_are_kept_with_who_and_when_and_every_change(
    run: Run, owner: Any
) -> None:
    item = Item.objects.filter(run=run).order_by("line").first()
    assert item is not None
    client = signed_in(owner)
    url = reverse("web:item_decide", args=[run.public_id, item.pk])

    client.post(url, {"decision": "hold", "note": "Ask about the gap in 2021."})
    page = client.post(url, {"decision": "advance", "note": "Gap explained."}, follow=True)

    item.refresh_from_db()
    assert (item.decision, item.note, item.decided_by) == ("advance", "Gap explained.", owner)
    history = list(ItemDecision.objects.filter(item=item).order_by("at", "id"))
    assert [(h.decision, h.note, h.by) for h in history] == [
        ("hold", "Ask about the gap in 2021.", owner),
        ("advance", "Gap explained.", owner),
    ]
    html = page.content.decode()
    assert "Decision saved." in html and "Gap explained." in html and "History (2)" in html

    refused = client.post(url, {"decision": "hire", "note": ""}, follow=True)
    assert "Choose advance, hold or reject" in refused.content.decode()
    assert ItemDecision.objects.filter(item=item).count() == 2


def test_the_shortlist_download_is_in_rank_order_with_decisions_and_notes(
    run: Run, owner: Any
) -> None:
    best = selectors.shortlist(run, 5)
    services.item_decide(item=best[0], by=owner, decision="advance", note="Call, 1st")
    client = signed_in(owner)

    response = client.get(
        reverse("web:run_shortlist_download", args=[run.public_id]) + "?top=5&sort=-overall"
    )

    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    assert [r["id"] for r in rows] == [i.custom_id for i in best]
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert (rows[0]["decision"], rows[0]["note"], rows[0]["decided_by"]) == (
        "advance",
        "Call, 1st",
        "olivia",
    )
    assert rows[1]["decision"] == "" and rows[0]["overall"] == str(best[0].scores["overall"])

    everyone = client.get(
        reverse("web:run_shortlist_download", args=[run.public_id]) + "?status=done"
    )
    assert (
        len(
            list(
                csv.DictReader(
                    io.StringIO(b"".join(everyone.streaming_content).decode("utf-8-sig"))
                )
            )
        )
        == 30
    )


def test_explain_asks_about_the_stored_scores_and_keeps_them(
    run: Run, owner: Any, fake_ollama: FakeOllama
) -> None:
    item = Item.objects.filter(run=run).order_by("line").first()
    assert item is not None
    scores = dict(item.scores)
    scored_prompts = [r["messages"][:2] for r in fake_ollama.requests]
    fake_ollama.requests.clear()
    client = signed_in(owner)

    page = client.post(
        reverse("web:item_explain", args=[run.public_id, item.pk]), follow=True
    ).content.decode()

    (asked,) = fake_ollama.requests
    # The same instructions and candidate text as when it was scored, then the question.
    assert asked["messages"][:2] in scored_prompts
    assert f"overall {scores['overall']}" in asked["messages"][2]["content"]
    explanation = Explanation.objects.get(item=item)
    assert explanation.model == run.model and explanation.prompt_hash == run.prompt_hash
    # Ollama takes only the schema: the cap has room for the whitespace its grammar allows.
    criteria = list(scores)
    room = explain.whitespace_room(criteria)
    assert room > 0
    assert asked["options"]["num_predict"] == explain.num_predict(criteria) + room
    assert explanation.rubric == run.rubric and explanation.requested_by == owner
    assert set(explanation.criteria) == set(scores)
    assert {k: part["stored_score"] for k, part in explanation.criteria.items()} == scores
    item.refresh_from_db()
    assert item.scores == scores  # never changed by an explanation
    assert "Why these scores" in page and "Explained by gemma3:12b" in page
    if explanation.disagreements:
        assert "would now give a different score" in page


def test_the_run_page_shows_histograms_consistency_and_the_report_download(
    run: Run, owner: Any
) -> None:
    client = signed_in(owner)

    html = client.get(reverse("web:run", args=[run.public_id])).content.decode()

    assert html.count('<svg class="histogram"') == 5
    assert "How far these scores can be trusted" in html and "Scores are" in html
    assert "No column of this run is marked “Audit only”" in html
    report = client.get(reverse("web:run_report", args=[run.public_id]))
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:4] == ["section", "column", "group", "basis"]
    assert {row[0] for row in rows[1:]} >= {"run", "consistency", "distribution"}
    assert all(len(row) == len(rows[0]) for row in rows)


def test_the_impact_section_shows_each_audit_column_and_flags_low_ratios(
    consistency: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path
) -> None:
    rows = [
        {"id": f"c{i}", "skills": f"Python {i}", "gender": "Female" if i % 3 else "Male"}
        for i in range(60)
    ]
    run = start_run(write_csv(tmp_path / "g.csv", rows), owner=owner, roles=None)
    client = signed_in(owner)

    html = client.get(reverse("web:run", args=[run.public_id])).content.decode()

    report = selectors.run_report(run)
    assert "Adverse impact" in html and "Selected = scoring above the median" in html
    for row in report["impact"]:
        assert f'<td>{row["group"]}</td><td class="num">{row["count"]}</td>' in html
    assert ("below 0.8" in html) == any(r["flag"] for r in report["impact"])
    assert json.dumps(report)  # the same figures serialise for run_report --json


def test_search_and_lowest_scores_filter_the_list_in_place_and_its_download(
    run: Run, owner: Any
) -> None:
    client = signed_in(owner)
    items = list(Item.objects.filter(run=run))
    someone = items[7]
    name = someone.extra["name"]
    url = reverse("web:run_results", args=[run.public_id])

    found = client.get(url, {"q": name.split()[-1].lower()}, headers={"HX-Request": "true"})

    html = found.content.decode()
    assert someone.custom_id in html
    shown = [i.custom_id for i in items if name.split()[-1].lower() in i.extra["name"].lower()]
    assert html.count('class="candidate"') == len(shown)
    assert found["HX-Push-Url"].endswith(f"?q={name.split()[-1].lower()}")

    high = client.get(url, {"min_overall": "8", "min_communication": "5"}).content.decode()
    expected = [i for i in items if i.scores["overall"] >= 8 and i.scores["communication"] >= 5]
    assert high.count('class="candidate"') == len(expected)
    download = client.get(
        reverse("web:run_shortlist_download", args=[run.public_id]),
        {"min_overall": "8", "min_communication": "5"},
    )
    rows = list(
        csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig")))
    )
    assert sorted(r["id"] for r in rows) == sorted(i.custom_id for i in expected)


def test_explain_the_shortlist_explains_each_shortlisted_candidate_once_and_downloads_it(
    run: Run, owner: Any
) -> None:
    client = signed_in(owner)
    size = selectors.shortlist_size(run)  # 10% of 30 scored: 3
    assert size == 3

    page = client.post(
        reverse("web:run_explain_shortlist", args=[run.public_id]), follow=True
    ).content.decode()

    assert "Explaining the 3 shortlisted candidates" in page
    best = selectors.shortlist(run)
    assert Explanation.objects.filter(item__run=run).count() == 3
    assert all(Explanation.objects.filter(item=item).count() == 1 for item in best)
    client.post(reverse("web:run_explain_shortlist", args=[run.public_id]))
    assert Explanation.objects.filter(item__run=run).count() == 3  # not asked twice

    response = client.get(
        reverse("web:run_shortlist_download", args=[run.public_id]) + "?top=3&sort=-overall"
    )
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    assert [r["id"] for r in rows] == [i.custom_id for i in best]
    assert all(r["explanation"].startswith(f"{run.model}: technical_skills: ") for r in rows)


def test_a_score_range_filters_the_list_the_shortlist_and_their_downloads(
    run: Run, owner: Any
) -> None:
    client = signed_in(owner)
    items = list(Item.objects.filter(run=run, status=Item.Status.DONE))
    overall = sorted(i.scores["overall"] for i in items)
    low, high = overall[len(overall) // 4], overall[3 * len(overall) // 4]
    wanted = [i for i in items if low <= i.scores["overall"] <= high]
    assert 0 < len(wanted) < len(items)  # the range keeps some and drops some
    query = {"min_overall": str(low), "max_overall": str(high)}
    url = reverse("web:run_results", args=[run.public_id])

    html = client.get(url, query, headers={"HX-Request": "true"}).content.decode()
    download = client.get(reverse("web:run_shortlist_download", args=[run.public_id]), query)
    top = client.get(
        reverse("web:run_shortlist_download", args=[run.public_id]),
        {**query, "top": "5", "sort": "-overall"},
    )

    assert html.count('class="candidate"') == len(wanted)
    assert 'name="max_overall" aria-label="Overall: highest score"' in html
    assert f'<option value="{high}" selected>' in html
    listed = list(
        csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig")))
    )
    assert sorted(r["id"] for r in listed) == sorted(i.custom_id for i in wanted)
    shortlisted = list(
        csv.DictReader(io.StringIO(b"".join(top.streaming_content).decode("utf-8-sig")))
    )
    expected = selectors.results(
        run, top=5, sort="-overall", at_least={"overall": low}, at_most={"overall": high}
    )
    assert [r["id"] for r in shortlisted] == [i.custom_id for i in expected.items]
    assert len(shortlisted) == min(5, len(wanted))
    assert all(low <= int(r["overall"]) <= high for r in shortlisted)

    # Only the highest bound; and a range that cannot match says why.
    capped = selectors.results(run, at_most={"overall": low, "communication": 10})
    assert sorted(i.pk for i in capped.items) == sorted(
        i.pk for i in items if i.scores["overall"] <= low
    )
    empty = client.get(url, {"min_overall": "9", "max_overall": "3"}).content.decode()
    assert empty.count('class="candidate"') == 0
    assert "the lowest score chosen is above the highest" in empty


def test_the_scored_csv_gains_the_explanation_column_once_candidates_are_explained(
    run: Run, owner: Any
) -> None:
    client = signed_in(owner)

    def download(name: str, query: str = "") -> list[dict[str, str]]:
        response = client.get(reverse(name, args=[run.public_id]) + query)
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(text)))

    before = download("web:run_download")
    assert len(before) == 30 and "explanation" not in before[0]

    client.post(reverse("web:run_explain_shortlist", args=[run.public_id]))
    scored = download("web:run_download")
    excel = download("web:run_download", "?excel=1")
    listed = download("web:run_shortlist_download")  # the whole list, in row order

    best = {item.custom_id for item in selectors.shortlist(run)}
    assert len(best) == 3
    by_id = {row["id"]: row["explanation"] for row in listed}
    assert [row["id"] for row in scored] == [row["id"] for row in listed]
    for rows in (scored, excel):
        assert list(rows[0])[-1] == "explanation"
        assert {r["id"] for r in rows if r["explanation"]} == best
        assert all(r["explanation"] == by_id[r["id"]] for r in rows)
    assert all(
        by_id[custom_id].startswith(f"{run.model}: technical_skills: ") for custom_id in best
    )
