"""The Django admin through its real URLs: run actions, the rerun page, the Item list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from devtools.fake_ollama import FakeOllama
from evaluations import services
from evaluations.models import Item, Run
from tests.support.files import candidates_csv
from tests.support.runs import start_run

pytestmark = pytest.mark.django_db(transaction=True)

RUNS = reverse("admin:evaluations_run_changelist")
ITEMS = reverse("admin:evaluations_item_changelist")


@pytest.fixture
def director(db: None) -> Any:
    return get_user_model().objects.create_superuser(
        "diana", email="diana@example.com", password="director-pass-123"
    )


@pytest.fixture
def staff_client(director: Any) -> Client:
    client = Client()
    client.force_login(director)
    return client


def _act(client: Client, action: str, *runs: Run, **extra: Any) -> Any:
    """Post an action from the run list, as its "Go" button does."""
    data = {"action": action, "_selected_action": [r.pk for r in runs], "index": "0", **extra}
    return client.post(RUNS, data, follow=True)


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_rerun_failed_items_scores_them_again(
    staff_client: Client, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.error_rate = 1.0  # the server fails every request for a while
    run = start_run(candidates_csv(tmp_path, 6))
    assert (run.status, run.done_count, run.failed_count) == (Run.Status.COMPLETED, 0, 6)
    fake_ollama.error_rate = 0.0

    response = _act(staff_client, "retry_failed", run)

    assert response.status_code == 200
    assert "Trying 6 failed item(s) again in 1 run(s)." in _messages(response)
    run.refresh_from_db()
    assert (run.status, run.done_count, run.failed_count) == (Run.Status.COMPLETED, 6, 0)
    assert set(Item.objects.filter(run=run).values_list("status", flat=True)) == {"done"}

    again = _act(staff_client, "retry_failed", run)
    assert any("No failed items" in m for m in _messages(again))


def test_rerun_whole_run_asks_then_starts_a_linked_run_with_the_choices(
    staff_client: Client, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 7, name="pool.csv"))
    used = run.rubric
    assert used is not None
    newest = services.rubric_save(
        rubric=used,
        author=None,
        name=used.name,
        instructions=used.instructions + " Be strict.",
        criteria=used.criteria,
    )
    assert newest.version == used.version + 1  # the used version is frozen

    page = _act(staff_client, "rerun", run)
    html = page.content.decode()
    assert page.templates[0].name == "admin/evaluations/run/rerun.html"
    assert "pool.csv" in html and run.public_id in html
    assert str(used) in html and str(newest) in html
    assert 'value="gemma3:12b"' in html  # the model field defaults to the run's model
    assert 'name="apply"' in html and Run.objects.count() == 1

    fake_ollama.requests.clear()
    response = _act(staff_client, "rerun", run, apply="Start", rubric="newest", model="llama3.2:3b")

    rerun = Run.objects.get(rerun_of=run)
    assert rerun.model == "llama3.2:3b" and rerun.rubric == newest
    assert rerun.status == Run.Status.COMPLETED, rerun.status_message
    assert rerun.total_count == rerun.done_count == run.total_count == 7
    assert rerun.input_file_id == run.input_file_id
    assert {r["model"] for r in fake_ollama.requests} == {"llama3.2:3b"}
    assert all("Be strict." in r["messages"][0]["content"] for r in fake_ollama.requests)
    change = reverse("admin:evaluations_run_change", args=[rerun.pk])
    assert any(f'<a href="{change}">' in m for m in _messages(response))

    # The link back to the original, in the list and on the change page.
    original = reverse("admin:evaluations_run_change", args=[run.pk])
    listing = staff_client.get(RUNS).content.decode()
    assert f'<a href="{original}">pool.csv</a>' in listing
    detail = staff_client.get(change).content.decode()
    assert original in detail
    assert f'<a href="{change}">' in staff_client.get(original).content.decode()  # "Reruns"


def test_rerun_with_the_same_rubric_and_blank_model_keeps_the_originals(
    staff_client: Client, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 3))
    services.rubric_save(
        rubric=run.rubric,
        author=None,
        name=run.rubric.name,
        instructions="Other instructions.",
        criteria=run.rubric.criteria,
    )

    _act(staff_client, "rerun", run, apply="Start", rubric="used", model="")

    rerun = Run.objects.get(rerun_of=run)
    assert rerun.rubric_id == run.rubric_id and rerun.model == run.model == "gemma3:12b"
    assert rerun.status == Run.Status.COMPLETED and rerun.done_count == 3


def test_pause_resume_and_cancel_actions_change_the_status(
    staff_client: Client, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 4), start=False)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.IN_PROGRESS)

    assert "Paused 1 run(s)." in _messages(_act(staff_client, "pause", run))
    assert Run.objects.get(pk=run.pk).status == Run.Status.PAUSED
    assert "Resumed 1 run(s)." in _messages(_act(staff_client, "resume", run))
    run.refresh_from_db()
    assert run.status == Run.Status.COMPLETED and run.done_count == 4

    other = start_run(candidates_csv(tmp_path, 3, name="other.csv"), start=False)
    assert "Cancelled 1 run(s)." in _messages(_act(staff_client, "cancel", other))
    other.refresh_from_db()
    assert other.status == Run.Status.CANCELLED and other.cancelled_count == 3


def test_the_change_page_links_to_the_run_page_and_the_scored_csv(
    staff_client: Client, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 2))

    html = staff_client.get(reverse("admin:evaluations_run_change", args=[run.pk])).content
    page = html.decode()

    assert f'href="/runs/{run.public_id}/"' in page
    assert f'href="/runs/{run.public_id}/download.csv?excel=1"' in page
    download = staff_client.get(f"/runs/{run.public_id}/download.csv?excel=1")
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"\xef\xbb\xbfid,")


def test_renaming_a_run_in_the_admin_goes_through_the_service(
    staff_client: Client, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    run = start_run(candidates_csv(tmp_path, 2, name="pool.csv"))
    url = reverse("admin:evaluations_run_change", args=[run.pk])

    response = staff_client.post(url, {"name": " March   intake "})
    assert response.status_code == 302
    assert Run.objects.get(pk=run.pk).name == "March intake"
    assert "March intake" in staff_client.get(RUNS).content.decode()

    staff_client.post(url, {"name": ""})  # no name: back to the file's name
    assert Run.objects.get(pk=run.pk).name == "pool.csv"


def test_the_item_list_filters_by_run_and_status_and_searches_custom_ids(
    staff_client: Client,
    engine_settings: Any,
    fake_ollama: FakeOllama,
    tmp_path: Path,
    django_assert_max_num_queries: Any,
) -> None:
    fake_ollama.error_rate = 1.0
    failing = start_run(candidates_csv(tmp_path, 5, name="failing.csv"))
    fake_ollama.error_rate = 0.0
    scored = start_run(candidates_csv(tmp_path, 5, name="scored.csv"))
    assert (failing.failed_count, scored.done_count) == (5, 5)

    def rows(**query: str) -> list[Item]:
        response = staff_client.get(ITEMS, query)
        assert response.status_code == 200
        return list(response.context["cl"].result_list)

    # The same custom_id is in both runs; the run filter picks one.
    found = rows(run__id__exact=str(failing.pk), status__exact="failed", q="C000003")
    assert [(i.run_id, i.custom_id, i.status) for i in found] == [(failing.pk, "C000003", "failed")]
    assert rows(run__id__exact=str(scored.pk), status__exact="failed") == []
    assert len(rows(run__id__exact=str(scored.pk), status__exact="done")) == 5
    assert {i.run_id for i in rows(q="C000003")} == {failing.pk, scored.pk}
    assert len(rows()) == 10

    # One page costs the same number of queries however many runs its rows belong to.
    with django_assert_max_num_queries(6):
        page = staff_client.get(ITEMS).content.decode()
    assert "C000005" in page and "failing.csv" in page and "scored.csv" in page
    bad = staff_client.get(ITEMS, {"run__id__exact": "x"})
    assert bad.status_code == 302 and bad["Location"].endswith("?e=1")


def test_the_admin_is_for_staff_only(client: Client, owner: Any) -> None:
    client.force_login(owner)
    for url in (RUNS, ITEMS, reverse("admin:index")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
