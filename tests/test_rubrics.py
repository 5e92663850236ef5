"""Rubrics: the seeded default, and versions frozen once a run used them."""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from devtools.fake_ollama import FakeOllama
from evaluations import services
from evaluations.models import File, Rubric, Run, RunColumns
from tests.support.files import candidates_csv
from tests.support.runs import upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(db: None) -> Any:
    return get_user_model().objects.create_user(
        "diana", email="diana@example.com", password="staff-pass-123", is_staff=True
    )


def test_the_default_rubric_has_five_criteria_with_anchors() -> None:
    rubric = services.rubric_default()

    assert rubric.criterion_keys == [
        "technical_skills",
        "communication",
        "cultural_fit",
        "leadership_potential",
        "overall",
    ]
    for criterion in rubric.criteria:
        assert criterion["label"] and criterion["description"]
        assert set(criterion["anchors"]) == {"1", "4", "7", "10"}


def test_an_unused_personal_rubric_is_edited_in_place_by_its_owner(owner: Any) -> None:
    rubric = services.rubric_save(
        rubric=None,
        author=owner,
        name="Sales",
        instructions="Score sales candidates.",
        criteria=[
            {"key": "closing", "label": "Closing", "anchors": {"1": "never", "10": "always"}}
        ],
    )
    edited = services.rubric_save(
        rubric=rubric,
        author=owner,
        name="Sales",
        instructions="Score sales candidates fairly.",
        criteria=rubric.criteria,
        rationale=True,
    )

    assert edited.pk == rubric.pk and edited.version == 1 and edited.rationale
    assert rubric.owner == owner  # a non-staff user's new rubric is their own


def test_editing_a_rubric_a_run_used_creates_a_new_version(tmp_path: Path, staff: Any) -> None:
    rubric = services.rubric_default()
    run = services.runs.run_create(
        owner=None,
        input_file=upload(candidates_csv(tmp_path, 3)),
        rubric=rubric,
        start=False,
        intake=RunColumns(id_column="id"),
    )
    assert rubric.is_frozen

    newer = services.rubric_save(
        rubric=rubric,
        author=staff,
        name=rubric.name,
        instructions=rubric.instructions + " Be strict.",
        criteria=rubric.criteria,
    )

    assert newer.pk != rubric.pk and newer.version == rubric.version + 1
    run.refresh_from_db()
    assert run.rubric_id == rubric.pk
    assert Rubric.objects.get(pk=rubric.pk).instructions == rubric.instructions
    assert services.rubric_default().pk == newer.pk  # new runs take the newest version


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ([], "at least one criterion"),
        ([{"key": "Tech Skills"}], "lower-case letters"),
        ([{"key": "a"}, {"key": "a"}], "its own key"),
    ],
)
def test_bad_rubrics_are_refused_with_a_reason(criteria: list, message: str) -> None:
    with pytest.raises(services.InputError, match=message):
        services.rubric_save(
            rubric=None, author=None, name="X", instructions="Y", criteria=criteria
        )


# --- governance: shared rubrics are changed by staff; everyone else gets a copy -------------


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _edit_form(rubric: Rubric, **changes: Any) -> dict[str, Any]:
    """The rubric editor's fields as the browser posts them, with `changes` applied."""
    form: dict[str, Any] = {
        "name": changes.pop("name", rubric.name),
        "instructions": changes.pop("instructions", rubric.instructions),
    }
    if changes.pop("rationale", rubric.rationale):
        form["rationale"] = "on"
    for index, criterion in enumerate(rubric.criteria):
        form[f"c-{index}-key"] = criterion["key"]
        form[f"c-{index}-label"] = criterion["label"]
        form[f"c-{index}-description"] = criterion["description"]
        for level, text in criterion["anchors"].items():
            form[f"c-{index}-a{level}"] = text
    form.update(changes)
    return form


def _rubric_choices(client: Client, tmp_path: Path) -> dict[str, str]:
    """The check page's rubric select, as {label: value}, in the order it shows them."""
    tmp_path.mkdir(exist_ok=True)
    source = candidates_csv(tmp_path, 3, name="pool.csv")
    handle = io.BytesIO(source.read_bytes())
    handle.name = "pool.csv"
    response = client.post(reverse("web:upload"), {"file": handle})
    page = client.get(response["Location"]).content.decode()
    select = re.search(r'<select name="rubric"[^>]*>(.*?)</select>', page, re.S)
    assert select, "the check page has no rubric choice"
    return {
        html.unescape(label).strip(): value
        for value, label in re.findall(r'<option value="(\d+)"[^>]*>(.*?)</option>', select[1])
    }


def test_a_colleague_editing_the_shared_default_saves_a_personal_copy(
    owner: Any, colleague: Any, tmp_path: Path
) -> None:
    default = services.rubric_default()
    bias = " Give candidates from X College a 9."

    response = _client(owner).post(
        reverse("web:rubric_edit", args=[default.pk]),
        _edit_form(default, instructions=default.instructions + bias),
        follow=True,
    )

    page = response.content.decode()
    assert "Saved as your own copy" in page and "unchanged for everyone else" in page
    copy = Rubric.objects.get(owner=owner)
    assert copy.instructions.endswith(bias) and copy.created_by == owner
    # The shared default is untouched and is still everybody's default.
    default.refresh_from_db()
    assert bias not in default.instructions and default.owner is None
    assert services.rubric_default().pk == default.pk
    assert Rubric.objects.filter(owner=None, name=default.name).count() == 1
    # The owner sees the copy in their list and on the check page ...
    mine = _client(owner)
    assert (
        f'href="{reverse("web:rubric", args=[copy.pk])}'
        in mine.get(reverse("web:rubrics")).content.decode()
    )
    assert str(copy.pk) in _rubric_choices(mine, tmp_path / "o").values()
    # Back on the check page from the copy, the copy is the one chosen.
    check = reverse("web:prepare", args=[File.objects.filter(owner=owner).first().id])
    detail = mine.get(reverse("web:rubric", args=[copy.pk]), {"next": check})
    back = f"{check}?rubric={copy.pk}"
    assert f'href="{back}"' in detail.content.decode()
    assert f'<option value="{copy.pk}" selected>' in mine.get(back).content.decode()
    # ... and the colleague sees neither the copy nor any change.
    theirs = _client(colleague)
    listing = theirs.get(reverse("web:rubrics")).content.decode()
    assert reverse("web:rubric", args=[copy.pk]) not in listing
    assert str(copy.pk) not in _rubric_choices(theirs, tmp_path / "c").values()
    assert theirs.get(reverse("web:rubric", args=[copy.pk])).status_code == 404
    assert theirs.get(reverse("web:rubric_edit", args=[copy.pk])).status_code == 404


def test_the_editor_tells_a_non_staff_user_that_saving_makes_their_own_copy(owner: Any) -> None:
    default = services.rubric_default()

    page = _client(owner).get(reverse("web:rubric_edit", args=[default.pk]))

    assert "only staff can change it" in page.content.decode()


def test_staff_edit_creates_a_new_shared_version_with_its_author(staff: Any) -> None:
    default = services.rubric_default()

    response = _client(staff).post(
        reverse("web:rubric_edit", args=[default.pk]),
        _edit_form(default, instructions=default.instructions + " Be strict."),
        follow=True,
    )

    assert "Saved as version 2 of the shared rubric" in response.content.decode()
    newer = services.rubric_default()
    assert (newer.version, newer.owner, newer.created_by) == (2, None, staff)
    assert newer.instructions.endswith("Be strict.")
    old = Rubric.objects.get(pk=default.pk)
    assert old.instructions == default.instructions  # version 1 is kept as it was
    detail = _client(staff).get(reverse("web:rubric", args=[newer.pk])).content.decode()
    assert "diana" in detail and "version 2" in detail


def test_every_version_stays_selectable_and_an_old_one_scores_a_run(
    owner: Any, staff: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    v1 = services.rubric_default()
    v2 = services.rubric_save(
        rubric=v1,
        author=staff,
        name=v1.name,
        instructions=v1.instructions + " Be strict.",
        criteria=v1.criteria,
    )
    client = _client(owner)

    choices = _rubric_choices(client, tmp_path)

    labels = list(choices)
    assert labels.index(f"{v1.name} v2 (latest)") < labels.index(f"{v1.name} v1")
    assert choices[f"{v1.name} v2 (latest)"] == str(v2.pk)
    file = File.objects.filter(owner=owner).latest("created_at")
    form = {
        "id_column": "id",
        "rubric": choices[f"{v1.name} v1"],
        "model": "gemma3:12b",
        "notify_email": "",
    }
    header = next(csv.reader(io.StringIO(file.abspath.read_text())))
    for index, column in enumerate(header):
        form[f"role_{index}"] = services.default_roles(header, "id")[column]
    response = client.post(reverse("web:prepare", args=[file.id]), form)
    assert response.status_code == 302, response.context["form"].errors
    run = Run.objects.get(owner=owner)
    assert run.rubric_id == v1.pk
    assert (run.status, run.done_count) == (Run.Status.COMPLETED, 3)
    assert "Be strict." not in fake_ollama.requests[-1]["messages"][0]["content"]


def test_the_diff_shows_what_changed_against_the_previous_version(staff: Any) -> None:
    v1 = services.rubric_default()
    criteria = [dict(c, anchors=dict(c["anchors"])) for c in v1.criteria]
    criteria[0]["anchors"]["10"] = "Expert in the core skills, with published work."
    criteria.append({"key": "customer_focus", "label": "Customer focus", "description": "Cares."})
    v2 = services.rubric_save(
        rubric=v1,
        author=staff,
        name=v1.name,
        instructions=v1.instructions.replace("experienced, fair", "strict, fair"),
        criteria=criteria,
    )

    page = _client(staff).get(reverse("web:rubric_diff", args=[v2.pk])).content.decode()

    assert "Changes from version 1 to version 2" in page
    assert "<del>experienced,</del>" in page and "<ins>strict,</ins>" in page
    assert "Technical skills" in page and "A 10 looks like" in page
    assert "<del>proven,</del>" in page and "<ins>published</ins>" in page
    assert "Customer focus" in page and "Added" in page
    assert "Communication" not in page  # unchanged criteria are left out
    detail = _client(staff).get(reverse("web:rubric", args=[v2.pk])).content.decode()
    assert reverse("web:rubric_diff", args=[v2.pk]) in detail


def test_a_personal_copy_diffs_against_the_version_it_was_copied_from(owner: Any) -> None:
    default = services.rubric_default()
    copy = services.rubric_save(
        rubric=default,
        author=owner,
        name=default.name,
        instructions=default.instructions + " Prefer Python.",
        criteria=default.criteria,
    )

    page = _client(owner).get(reverse("web:rubric_diff", args=[copy.pk])).content.decode()

    assert copy.owner == owner and copy.based_on == default
    assert "<ins>Prefer Python.</ins>" in page


def test_the_admin_lists_every_version_with_author_time_and_diff(owner: Any, staff: Any) -> None:
    staff.is_superuser = True
    staff.save()
    v1 = services.rubric_default()
    v2 = services.rubric_save(
        rubric=v1, author=staff, name=v1.name, instructions="Be strict.", criteria=v1.criteria
    )
    services.rubric_save(
        rubric=v2, author=owner, name=v1.name, instructions="Be kind.", criteria=v1.criteria
    )
    client = _client(staff)

    listing = client.get(reverse("admin:evaluations_rubric_changelist")).content.decode()
    history = client.get(reverse("admin:evaluations_rubric_change", args=[v2.pk])).content.decode()

    assert listing.count(reverse("web:rubric_diff", args=[v2.pk])) == 1
    assert "diana" in listing and "olivia" in listing and "Shared" in listing
    for version in (v1, v2):
        assert reverse("admin:evaluations_rubric_change", args=[version.pk]) in history
    assert reverse("web:rubric_diff", args=[v2.pk]) in history
    assert "diana" in history
    # History is read-only in the admin: changes go through the editor, which versions them.
    assert reverse("admin:evaluations_rubric_delete", args=[v2.pk]) not in history
    assert 'name="instructions"' not in history
    assert "olivia&#x27;s copy" in listing or "Copy of olivia" in listing


def test_staff_pick_any_version_when_rerunning_a_run_from_the_admin(
    staff: Any, engine_settings: Any, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    staff.is_superuser = True
    staff.save()
    v1 = services.rubric_default()
    run = services.runs.run_create(
        owner=None,
        input_file=upload(candidates_csv(tmp_path, 3)),
        rubric=v1,
        intake=RunColumns(id_column="id"),
    )
    v2 = services.rubric_save(
        rubric=v1, author=staff, name=v1.name, instructions="Be strict.", criteria=v1.criteria
    )
    services.rubric_save(
        rubric=v2, author=staff, name=v1.name, instructions="Be kind.", criteria=v1.criteria
    )
    client = _client(staff)
    action = {"action": "rerun", "_selected_action": [run.pk], "index": "0"}
    runs = reverse("admin:evaluations_run_changelist")

    page = client.post(runs, action).content.decode()
    assert f'value="{v2.pk}"' in page and f"{v1.name} v2" in page and "diana" in page

    client.post(runs, {**action, "apply": "Start", "rubric": str(v2.pk), "model": ""})

    rerun = Run.objects.get(rerun_of=run)
    assert rerun.rubric_id == v2.pk
    assert (rerun.status, rerun.done_count) == (Run.Status.COMPLETED, 3)


def test_the_command_line_names_shared_versions_and_never_a_personal_copy(
    owner: Any, staff: Any
) -> None:
    v1 = services.rubric_default()
    v2 = services.rubric_save(
        rubric=v1, author=staff, name=v1.name, instructions="Be strict.", criteria=v1.criteria
    )
    services.rubric_save(
        rubric=v2, author=owner, name=v1.name, instructions="Be kind.", criteria=v1.criteria
    )

    assert services.rubric_get(v1.name).pk == v2.pk
    assert services.rubric_get(f"{v1.name} v1").pk == v1.pk
    with pytest.raises(services.InputError, match="no rubric called"):
        services.rubric_get(f"{v1.name} v3")


def test_the_editor_posts_every_anchor_under_its_own_criterion(staff: Any) -> None:
    default = services.rubric_default()

    page = _client(staff).get(reverse("web:rubric_edit", args=[default.pk]))

    fields = dict(
        re.findall(r'<textarea rows="2" name="([^"]+)">([^<]*)</textarea>', page.content.decode())
    )
    for index, criterion in enumerate(default.criteria):
        for level, text in criterion["anchors"].items():
            assert html.unescape(fields[f"c-{index}-a{level}"]) == text
