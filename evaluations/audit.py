"""The figures that let a person defend a run: adverse impact, consistency, distributions.

Pure computations over plain values (no database), so the run page, the report CSV, the
`run_report` command and the API's metadata all show the same numbers.

Adverse impact follows New York City Local Law 144's bias audit (DCWP rules, 6 RCNY 5-300):
for each category, the selection rate (or, for a score, the *scoring rate*: the share scoring
above the run's median) and the impact ratio against the category with the highest rate; a
ratio below 0.8 is flagged (the EEOC's four-fifths rule of thumb). Categories under 2% of the
candidates may be left out of the ratios; they are shown with their counts and marked.
Blank values are shown as "Unknown" and, like small groups, left out of the ratios.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FOUR_FIFTHS = 0.8
SMALL_GROUP_SHARE = 0.02
UNKNOWN = "Unknown"
ABOVE_MEDIAN = "above_median"
SHORTLIST = "shortlist"
INTERSECTION = " × "


@dataclass(frozen=True)
class Scored:
    """One scored candidate as the audit sees it."""

    groups: Mapping[str, str]  # audit column -> value
    scores: Mapping[str, int]  # criterion -> 1..10
    shortlisted: bool = False


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return 0.0
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def impact(
    candidates: Iterable[Scored],
    *,
    columns: Sequence[str],
    criteria: Sequence[str],
    overall: str = "overall",
    small_share: float = SMALL_GROUP_SHARE,
) -> list[dict[str, Any]]:
    """Rows of {column, group, count, selected, selection_rate, impact_ratio, flag, basis,
    excluded, means} for each audit column and for the intersection of the first two, on
    both bases (above the median `overall`; in the shortlist)."""
    people = list(candidates)
    total = len(people)
    if not total or not columns:
        return []
    cut = median([p.scores.get(overall, 0) for p in people])
    views = list(columns)
    if len(columns) >= 2:
        views.append(f"{columns[0]}{INTERSECTION}{columns[1]}")

    counts: dict[str, Counter[str]] = defaultdict(Counter)
    chosen: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    sums: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for person in people:
        for view in views:
            group = _group_of(person.groups, view, columns)
            counts[view][group] += 1
            key = (view, group)
            if person.scores.get(overall, 0) > cut:
                chosen[key][ABOVE_MEDIAN] += 1
            if person.shortlisted:
                chosen[key][SHORTLIST] += 1
            for criterion in criteria:
                sums[key][criterion] += int(person.scores.get(criterion, 0))

    rows: list[dict[str, Any]] = []
    for view in views:
        groups = sorted(counts[view].items(), key=lambda kv: (-kv[1], kv[0]))
        for basis in (ABOVE_MEDIAN, SHORTLIST):
            rates = {group: chosen[(view, group)][basis] / count for group, count in groups}
            eligible = [
                group
                for group, count in groups
                if count / total >= small_share and UNKNOWN not in group.split(INTERSECTION)
            ]
            best = max((rates[g] for g in eligible), default=0.0)
            for group, count in groups:
                excluded = group not in eligible
                ratio = None if excluded or not best else round(rates[group] / best, 3)
                rows.append(
                    {
                        "column": view,
                        "group": group,
                        "count": count,
                        "share": round(count / total, 4),
                        "selected": chosen[(view, group)][basis],
                        "selection_rate": round(rates[group], 4),
                        "impact_ratio": ratio,
                        "flag": ratio is not None and ratio < FOUR_FIFTHS,
                        "basis": basis,
                        "excluded": excluded,
                        "means": {c: round(sums[(view, group)][c] / count, 2) for c in criteria},
                    }
                )
    return rows


def _group_of(groups: Mapping[str, str], view: str, columns: Sequence[str]) -> str:
    if INTERSECTION in view and view not in columns:
        first, second = columns[0], columns[1]
        return f"{_value(groups.get(first))}{INTERSECTION}{_value(groups.get(second))}"
    return _value(groups.get(view))


def _value(value: str | None) -> str:
    value = " ".join((value or "").split())
    return value or UNKNOWN


def consistency(
    pairs: Iterable[tuple[Mapping[str, int], Mapping[str, int]]],
    *,
    criteria: Sequence[str],
    cutoff: float | None = None,
    overall: str = "overall",
) -> dict[str, Any]:
    """How much the scores move under a change that should not matter.

    `pairs` are (first scores, re-scored) per sampled candidate. Per criterion: the share
    scored exactly the same, within one point, and the mean absolute difference. With the
    shortlist's `cutoff` (the lowest `overall` still in it): how many sampled candidates
    would move across it one way or the other.
    """
    pairs = list(pairs)
    out: dict[str, Any] = {"sample": len(pairs), "criteria": {}, "crossing_cutoff": None}
    if not pairs:
        return out
    for criterion in criteria:
        diffs = [abs(int(a.get(criterion, 0)) - int(b.get(criterion, 0))) for a, b in pairs]
        out["criteria"][criterion] = {
            "exact_agreement": round(sum(d == 0 for d in diffs) / len(diffs), 4),
            "within_one": round(sum(d <= 1 for d in diffs) / len(diffs), 4),
            "mean_abs_diff": round(sum(diffs) / len(diffs), 3),
        }
    if cutoff is not None:
        out["crossing_cutoff"] = sum(
            (a.get(overall, 0) >= cutoff) != (b.get(overall, 0) >= cutoff) for a, b in pairs
        )
    return out


# A run's scores are read as stable when, for every criterion, most re-scored candidates
# get the same score and the rest move by less than a point on average.
STABLE_EXACT = 0.7
STABLE_MAD = 0.5


def consistency_reading(figures: Mapping[str, Any], labels: Mapping[str, str] | None = None) -> str:
    """The figures in plain words for the run page (criteria named by their `labels`)."""
    labels = labels or {}
    criteria = figures.get("criteria") or {}
    if not criteria:
        return "Not measured yet."
    worst = min(criteria.items(), key=lambda kv: kv[1]["exact_agreement"])
    unstable = [
        labels.get(name, name)
        for name, f in criteria.items()
        if f["exact_agreement"] < STABLE_EXACT or f["mean_abs_diff"] > STABLE_MAD
    ]
    sample = figures.get("sample", 0)
    if not unstable:
        lowest = worst[1]["exact_agreement"]
        # Rounded down: 99.7% is "at least 99%", never "at least 100%".
        how_often = (
            "every time" if lowest >= 1 else f"at least {math.floor(lowest * 100)}% of the time"
        )
        return (
            f"Scores are stable for this model and rubric: re-scoring {sample} candidates "
            f"gave the same score {how_often} on every criterion."
        )
    return (
        f"Scores are unstable for this model and rubric on {', '.join(unstable)}: "
        f"re-scoring {sample} candidates gave the same {labels.get(worst[0], worst[0])} only "
        f"{worst[1]['exact_agreement']:.0%} of the time. Treat small differences between "
        f"candidates as noise."
    )


def distribution(scores: Iterable[int], *, low: int = 1, high: int = 10) -> dict[int, int]:
    """How many candidates got each score, every score from `low` to `high` present."""
    counts = Counter(int(s) for s in scores)
    return {score: counts.get(score, 0) for score in range(low, high + 1)}
