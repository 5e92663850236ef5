"""The figures behind a defensible run (issue 9): adverse impact, consistency, distributions."""

from __future__ import annotations

from evaluations.audit import (
    ABOVE_MEDIAN,
    SHORTLIST,
    Scored,
    consistency,
    consistency_reading,
    distribution,
    impact,
    median,
)

CRITERIA = ["technical_skills", "overall"]


def people(spec: list[tuple[str, str, int, bool]]) -> list[Scored]:
    return [
        Scored({"sex": sex, "race": race}, {"technical_skills": score, "overall": score}, short)
        for sex, race, score, short in spec
    ]


def rows_for(rows: list[dict], column: str, basis: str) -> dict[str, dict]:
    return {r["group"]: r for r in rows if r["column"] == column and r["basis"] == basis}


def test_impact_ratios_follow_the_four_fifths_rule_on_both_bases() -> None:
    # 10 women, 10 men; the median overall is 5: 2 women and 8 men score above it.
    spec = [("F", "A", 7, i < 1) for i in range(2)] + [("F", "B", 3, False)] * 8
    spec += [("M", "A", 8, i < 5) for i in range(8)] + [("M", "B", 3, False)] * 2
    rows = impact(people(spec), columns=["sex"], criteria=CRITERIA)

    above = rows_for(rows, "sex", ABOVE_MEDIAN)
    assert above["M"]["selection_rate"] == 0.8 and above["M"]["impact_ratio"] == 1.0
    assert above["F"]["selected"] == 2 and above["F"]["impact_ratio"] == 0.25
    assert above["F"]["flag"] is True and above["M"]["flag"] is False
    short = rows_for(rows, "sex", SHORTLIST)
    assert short["F"]["selection_rate"] == 0.1 and short["F"]["impact_ratio"] == 0.2
    assert above["F"]["means"] == {"technical_skills": 3.8, "overall": 3.8}


def test_the_intersection_of_the_first_two_columns_is_reported() -> None:
    spec = [("F", "A", 9, True)] * 30 + [("F", "B", 2, False)] * 30
    spec += [("M", "A", 9, True)] * 30 + [("M", "B", 5, True)] * 30  # median 7
    rows = impact(people(spec), columns=["sex", "race"], criteria=CRITERIA)

    both = rows_for(rows, "sex × race", ABOVE_MEDIAN)
    assert set(both) == {"F × A", "F × B", "M × A", "M × B"}
    assert both["F × B"]["impact_ratio"] == 0.0 and both["F × B"]["flag"] is True


def test_small_groups_and_unknown_values_are_shown_but_left_out_of_the_ratios() -> None:
    spec = [("F", "A", 8, True)] * 40 + [("M", "A", 4, False)] * 59 + [("X", "A", 1, False)]
    spec += [("", "A", 9, True)] * 3
    rows = impact(people(spec), columns=["sex"], criteria=CRITERIA)

    above = rows_for(rows, "sex", ABOVE_MEDIAN)
    assert above["X"]["excluded"] and above["X"]["impact_ratio"] is None  # 1 of 103 < 2%
    assert above["Unknown"]["excluded"] and above["Unknown"]["count"] == 3
    assert above["M"]["impact_ratio"] == 0.0 and not above["M"]["excluded"]
    assert above["X"]["flag"] is False


def test_consistency_counts_agreement_difference_and_crossings() -> None:
    pairs = [
        ({"overall": 7, "technical_skills": 5}, {"overall": 7, "technical_skills": 6}),
        ({"overall": 8, "technical_skills": 5}, {"overall": 6, "technical_skills": 5}),
        ({"overall": 5, "technical_skills": 5}, {"overall": 7, "technical_skills": 5}),
        ({"overall": 3, "technical_skills": 2}, {"overall": 3, "technical_skills": 2}),
    ]
    figures = consistency(pairs, criteria=CRITERIA, cutoff=7)

    assert figures["sample"] == 4
    assert figures["criteria"]["overall"] == {
        "exact_agreement": 0.5,
        "within_one": 0.5,
        "mean_abs_diff": 1.0,
    }
    assert figures["criteria"]["technical_skills"]["exact_agreement"] == 0.75
    assert figures["crossing_cutoff"] == 2  # 8 -> 6 falls out, 5 -> 7 comes in
    assert consistency_reading(figures).startswith("Scores are unstable")


def test_stable_scores_are_read_as_stable() -> None:
    pairs = [
        ({"overall": s, "technical_skills": s}, {"overall": s, "technical_skills": s})
        for s in range(1, 11)
    ]
    assert consistency_reading(consistency(pairs, criteria=CRITERIA)).startswith(
        "Scores are stable"
    )


def test_distribution_and_median() -> None:
    assert distribution([1, 3, 3, 10]) == {
        1: 1,
        2: 0,
        3: 2,
        4: 0,
        5: 0,
        6: 0,
        7: 0,
        8: 0,
        9: 0,
        10: 1,
    }
    assert median([1, 3, 3, 10]) == 3.0 and median([4, 2, 9]) == 4.0 and median([]) == 0.0
