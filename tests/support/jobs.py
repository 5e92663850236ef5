"""A jobs file with 5 positions and candidates who applied for them (one position in no
jobs file): what the jobs-file tests and the browser test give hrbatch."""

from __future__ import annotations

import csv
from pathlib import Path

JOBS = [
    {
        "title": "Data Engineer",
        "description": "Builds and runs the data pipelines behind our reporting.",
        "requirements": "Python and SQL; 3+ years with Airflow or dbt; cloud warehouses.",
    },
    {
        "title": "Registered Nurse",
        "description": "Cares for patients on a 30-bed medical-surgical ward.",
        "requirements": "Active RN licence; BLS certification; 2+ years acute care.",
    },
    {
        "title": "Account Executive",
        "description": "Sells our platform to mid-market companies.",
        "requirements": "3+ years closing B2B SaaS deals; quota attainment; Salesforce.",
    },
    {
        "title": "Payroll Specialist",
        "description": "Runs payroll for 2,000 employees in three states.",
        "requirements": "CPP preferred; ADP Workforce Now; multi-state tax filings.",
    },
    {
        "title": "Operations Manager",
        "description": "Leads the warehouse floor: 40 associates over two shifts.",
        "requirements": "5+ years in logistics; lean / six sigma; WMS experience.",
    },
]
# How the candidates' file writes the positions: case and spacing differ from the jobs
# file, and one title is in no jobs file at all.
POSITIONS = [
    "data engineer",
    "Registered  Nurse",
    "ACCOUNT EXECUTIVE",
    "Payroll Specialist ",
    "Operations Manager",
    "Warehouse Lead",
]
UNMATCHED = "Warehouse Lead"


def write_jobs_file(path: Path, jobs: list[dict[str, str]] = JOBS) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["title", "description", "requirements"])
        writer.writeheader()
        writer.writerows(jobs)
    return path


def write_candidates(path: Path, per_position: int = 3) -> Path:
    """Candidates whose positions interleave, each with words that name them (the
    request's user message tells which candidate it is)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["applicant_id", "position", "experience"])
        n = 0
        for round_ in range(per_position):
            for position in POSITIONS:
                n += 1
                writer.writerow(
                    [f"A{n:03d}", position, f"Candidate {n}: {round_ + 3} years of relevant work."]
                )
    return path
