"""The check page on an export with thousands of distinct positions: server time and size
of each answer a person's browser asks for, from upload to Start. Prints figures; asserts
nothing.

    .venv/bin/python bench/check_page.py [--n 2900] [--saved-jobs 300] [--keep]

The file is the `talentalign` shape (devtools.synthetic.talentalign: 2,900 rows, a
`Job Title` per candidate with 2,322 different values). The requests are those the page
makes, through Django's test client in this process (the server's time, no network):

1. the check page itself (GET), and the row checks it loads at once (its columns as
   proposed: `Job Title` is not proposed as the position nor as describing the job);
2. a person picks `Job Title` as the position column anyway: the row checks again (with
   the first page of the positions table), a search, the next page;
3. "Score every unmatched position without a job" (one post);
4. Start: the fields the form posts, and the server's time to check the file and make the
   run (its ingest is left to a worker: `defer`, as the page does).

`--saved-jobs` saved jobs exist beforehand (the select of each row lists them all): the
issue's 51 MB page had each of its 2,322 selects list a few hundred.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C


def _timed(label: str, call: Any, rows: list[tuple[str, str, str, str]]) -> Any:
    started = time.perf_counter()
    response = call()
    seconds = time.perf_counter() - started
    body = response.content if not response.streaming else b""
    selects = len(re.findall(rb"<select", body))
    rows.append((label, f"{seconds * 1000:,.0f} ms", f"{len(body) / 1024:,.0f} KB", f"{selects:,}"))
    return response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2900)
    parser.add_argument("--saved-jobs", type=int, default=300)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    data = C.make_data_dir("check-page")
    C.setup_django(data, {"HRBATCH_LLM_BACKEND": "embedded"})
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from devtools.synthetic import write_talentalign_csv
    from evaluations import csvio, services
    from evaluations.models import File, Run

    user = get_user_model().objects.create_user("bench", "bench@example.com", "x" * 12)
    source = data / "talentalign.csv"
    write_talentalign_csv(source, args.n)
    for index in range(args.saved_jobs):  # the team's, from the command line
        services.job_save(
            job=None, author=None, title=f"Requisition {index:04d}", description="Duties."
        )
    upload = services.file_create(
        owner=user, source=source, filename=source.name, purpose=File.Purpose.CANDIDATES
    )
    client = Client(HTTP_HOST="localhost")  # a host hrbatch answers to by default
    client.force_login(user)
    layout = csvio.sniff(upload.abspath)
    roles = services.default_roles(layout.header, "Resume ID")
    form: dict[str, Any] = {
        "id_column": "Resume ID",
        "rubric": services.rubric_default().pk,
        "notify_email": "",
        "name": "bench",
        "redact": "on",
        "encoding": "",
        **{f"role_{i}": roles[c] for i, c in enumerate(layout.header)},
    }
    rows: list[tuple[str, str, str, str]] = []
    busy_before, clock = C.machine_busy(), time.perf_counter()
    own_before = C.psutil.Process().cpu_times()
    prepare = reverse("web:prepare", args=[upload.id])
    checks = reverse("web:check_rows", args=[upload.id])
    page = _timed("check page (GET)", lambda: client.get(prepare), rows).content.decode()
    proposed = re.search(r"Proposed: <strong>([^<]*)</strong>", page)
    # The model the page proposes (the embedded one here).
    model = page.split('id="id_model"')[1]
    form["model"] = re.search(r'<option value="([^"]*)" selected>', model)[1]  # type: ignore[index]
    _timed("row checks, as proposed", lambda: client.get(checks, form), rows)

    saved = {**form, "jobs_from": "saved", "position_column": "Job Title"}
    _timed("row checks, Job Title as position", lambda: client.get(checks, saved), rows)
    table = reverse("web:positions", args=[upload.id])
    _timed(
        "positions: search 'senior'",
        lambda: client.get(table, {**saved, "positions_q": "senior"}),
        rows,
    )
    _timed("positions: page 2", lambda: client.get(table, {**saved, "positions_page": "2"}), rows)
    mapped = _timed(
        "score every unmatched without a job",
        lambda: client.post(
            reverse("web:position_map", args=[upload.id]), {**saved, "unmatched": "without_job"}
        ),
        rows,
    ).content.decode()
    shown = {
        name: re.search(rf'name="{name}" value="([^"]*)"', mapped)[1]  # type: ignore[index]
        for name in ("jobs_versions", "jobs_digest")
    }
    start = {**saved, **shown}
    response = _timed("Start (POST)", lambda: client.post(prepare, start), rows)
    run = Run.objects.filter(input_file=upload).first()

    own_after = C.psutil.Process().cpu_times()
    own = (own_after.user + own_after.system) - (own_before.user + own_before.system)
    foreign = C.machine_busy() - busy_before - own
    elapsed = time.perf_counter() - clock

    print(f"\ncheck page on a {args.n:,}-row talentalign export, {args.saved_jobs} saved jobs")
    print(f"commit {C.code_version()}; {C.foreign_note(foreign, elapsed)}")
    print(C.table([list(row) for row in rows], ["request", "server", "size", "<select>s"]))
    print(f"\nposition column proposed: {proposed[1] if proposed else 'none'}")
    print(f"fields posted by Start: {len(start)} (Django's limit: 1,000)")
    print(
        f"Start answered {response.status_code}"
        + (f", run {run.public_id} ({run.status})" if run else ", no run")
    )
    if run is None:
        errors = re.findall(r'<p class="error"[^>]*>([^<]*)</p>', response.content.decode())
        print("Start refused: " + " | ".join(errors))
    C.cleanup(data, args.keep)


if __name__ == "__main__":
    main()
