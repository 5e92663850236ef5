"""A candidate file shaped like Kaggle's public `UpdatedResumeDataSet.csv` (all invented).

That file has two columns, `Category` and `Resume` (a whole résumé in one multi-line cell),
962 rows sorted by category, and only 166 distinct résumés: most rows repeat another one of
the same category, a few of them ten times and more. Here the same shape, with copies that
are exact or differ only in spacing, line endings and case (what a copy-paste or an export
does to a text), so that hrbatch's "same candidate, spacing and case aside" is exercised
both ways.

    write_resume_dataset(path)                      # 962 rows, 166 distinct
    write_resume_dataset(path, rows=60, distinct=12)
"""

from __future__ import annotations

import csv
from pathlib import Path
from random import Random

# The real file's categories with its row counts (sum 962), in its order.
CATEGORIES: tuple[tuple[str, int], ...] = (
    ("Data Science", 40),
    ("HR", 44),
    ("Advocate", 20),
    ("Arts", 36),
    ("Web Designing", 45),
    ("Mechanical Engineer", 40),
    ("Sales", 40),
    ("Health and fitness", 30),
    ("Civil Engineer", 24),
    ("Java Developer", 84),
    ("Business Analyst", 28),
    ("SAP Developer", 24),
    ("Automation Testing", 26),
    ("Electrical Engineering", 30),
    ("Operations Manager", 40),
    ("Python Developer", 48),
    ("DevOps Engineer", 55),
    ("Network Security Engineer", 25),
    ("PMO", 30),
    ("Database", 33),
    ("Hadoop", 42),
    ("ETL Developer", 40),
    ("DotNet Developer", 28),
    ("Blockchain", 40),
    ("Testing", 70),
)
ROWS = sum(count for _, count in CATEGORIES)
DISTINCT = 166

_SKILLS = (
    "Python",
    "SQL",
    "Java",
    "Spring Boot",
    "Excel",
    "Tableau",
    "AWS",
    "Docker",
    "Kubernetes",
    "Selenium",
    "JIRA",
    "SAP ABAP",
    "AutoCAD",
    "Hadoop",
    "Spark",
    "Hive",
    "Informatica",
    "C#",
    ".NET",
    "Solidity",
    "Linux",
    "Recruitment",
    "Payroll",
    "Negotiation",
    "Litigation",
    "Photoshop",
    "HTML",
    "CSS",
    "Nutrition",
    "MS Project",
)
_COMPANIES = (
    "Infosys",
    "Wipro",
    "Tata Consultancy Services",
    "Capgemini",
    "Accenture",
    "Larsen & Toubro",
    "Mahindra",
    "HCL",
    "Cognizant",
    "Tech Mahindra",
)
_DEGREES = ("B.E", "B.Tech", "MBA", "M.Sc", "BCA", "MCA", "B.Com", "LLB", "Diploma")
_CITIES = ("Pune", "Mumbai", "Bangalore", "Nagpur", "Hyderabad", "Chennai", "Delhi")


def _resume(rng: Random, category: str, number: int) -> str:
    """One résumé as the real file writes them: sections on lines of their own (CRLF),
    bullets, a few odd spacings."""
    skills = rng.sample(_SKILLS, 5)
    start = rng.randint(2005, 2018)
    lines = [
        f"Skills • {' • '.join(skills)}",
        f"Education Details \r\n{rng.choice(_DEGREES)} {category} {rng.choice(_CITIES)} "
        f"University {start - 4}",
        f"{category} ",
        f"{category} - {rng.choice(_COMPANIES)}",
        f"Skill Details \r\n{skills[0]}- Exprience - {rng.randint(6, 90)} months",
        f"Company Details \r\ncompany - {rng.choice(_COMPANIES)}",
        f"description - Worked on {skills[1]} and {skills[2]} from {start} (profile {number}).",
    ]
    return "\r\n".join(lines)


def _near_copy(rng: Random, text: str) -> str:
    """The same résumé as a copy-paste or an export may leave it: other line endings,
    doubled spaces, trailing spaces, another case."""
    change = rng.randrange(4)
    if change == 0:
        return text.replace("\r\n", "\n")
    if change == 1:
        return text.replace(" - ", "  -  ") + "  "
    if change == 2:
        return text.upper()
    return "\n" + text.replace("Skills •", "SKILLS  •")


def resume_rows(
    rows: int = ROWS, distinct: int = DISTINCT, *, seed: int = 0, near: float = 0.3
) -> list[dict[str, str]]:
    """`rows` rows of Category and Resume holding `distinct` different résumés (spacing and
    case aside), in the real file's categories and order; a share `near` of the copies
    differs from its first row in spacing or case, the others are exact."""
    assert 0 < distinct <= rows
    rng = Random(seed)
    # As many of the real file's categories as there are distinct résumés (all 25 for the
    # real shape), their row counts scaled to `rows` and their résumés to `distinct`.
    used = CATEGORIES[: min(len(CATEGORIES), distinct)]
    counts = _spread(rows, [n for _, n in used], cap=[rows] * len(used))
    kinds = _spread(distinct, counts, cap=counts)
    out: list[dict[str, str]] = []
    number = 0
    for (category, _), count, different in zip(used, counts, kinds, strict=True):
        texts = []
        for _ in range(different):
            number += 1
            texts.append(_resume(rng, category, number))
        # Every résumé once, the rest copies, some résumés far more often than others.
        weights = [1.0 / (k + 1) for k in range(different)]
        picks = list(range(different)) + rng.choices(
            range(different), weights=weights, k=count - different
        )
        rng.shuffle(picks)
        seen: set[int] = set()
        for pick in picks:
            text = texts[pick]
            if pick in seen and rng.random() < near:
                text = _near_copy(rng, text)
            seen.add(pick)
            out.append({"Category": category, "Resume": text})
    return out


def _spread(total: int, weights: list[int], *, cap: list[int]) -> list[int]:
    """`total` split in proportion to `weights`, each share at least 1 and at most its
    `cap` (there are at least as many to split as weights, and no more than the caps)."""
    assert len(weights) <= total <= sum(cap)
    whole = sum(weights)
    shares = [min(c, max(1, total * w // whole)) for w, c in zip(weights, cap, strict=True)]
    # The largest weights take what rounding left over, one at a time, within their caps.
    order = sorted(range(len(weights)), key=lambda i: -weights[i])
    while sum(shares) < total:
        for i in order:
            if shares[i] < cap[i] and sum(shares) < total:
                shares[i] += 1
    while sum(shares) > total:
        for i in order:
            if shares[i] > 1 and sum(shares) > total:
                shares[i] -= 1
    return shares


def write_resume_dataset(
    path: Path, rows: int = ROWS, distinct: int = DISTINCT, *, seed: int = 0, near: float = 0.3
) -> Path:
    """Write resume_rows(...) as a CSV (UTF-8, CRLF inside the résumé cells)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["Category", "Resume"])
        writer.writeheader()
        writer.writerows(resume_rows(rows, distinct, seed=seed, near=near))
    return path
