"""Rubrics: the seeded default, and versions frozen once a run used them."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluations import services
from evaluations.models import Rubric
from tests.conftest import candidates_csv, upload

pytestmark = pytest.mark.django_db


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


def test_an_unused_rubric_is_edited_in_place() -> None:
    rubric = services.rubric_save(
        rubric=None,
        name="Sales",
        instructions="Score sales candidates.",
        criteria=[
            {"key": "closing", "label": "Closing", "anchors": {"1": "never", "10": "always"}}
        ],
    )
    edited = services.rubric_save(
        rubric=rubric,
        name="Sales",
        instructions="Score sales candidates fairly.",
        criteria=rubric.criteria,
        rationale=True,
    )

    assert edited.pk == rubric.pk and edited.version == 1 and edited.rationale


def test_editing_a_rubric_a_run_used_creates_a_new_version(tmp_path: Path) -> None:
    rubric = services.rubric_default()
    run = services.run_create(
        owner=None,
        input_file=upload(candidates_csv(tmp_path, 3)),
        rubric=rubric,
        id_column="id",
        start=False,
    )
    assert rubric.is_frozen

    newer = services.rubric_save(
        rubric=rubric,
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
        services.rubric_save(rubric=None, name="X", instructions="Y", criteria=criteria)
