"""How well a model's `overall` score tracks a human judgement (issue 9, part 6).

    .venv/bin/python bench/quality.py [--backend embedded|ollama|auto] [--model M]
                                      [--file CSV] [--label matched_score] [--n N]

Scores a labelled candidate file through the real services and engine (tasks inline, in
this process), then prints:
- Spearman's rho between `overall` and the label (rank correlation, ties averaged);
- AUC: how often a candidate the label rates high (at or above the label's median)
  outranks one it rates low, on `overall` (ties count half; 0.5 is chance);
- the run's consistency figures (the re-scored sample) and adverse-impact figures when the
  file has audit-only columns.

Default data: ../shared/data/resume_data_97.csv, 97 real résumés, each matched against a
job whose columns (`job_position_name`, `skills_required`, …) the model sees, with a
human-assigned `matched_score` (0-1). The label column starts as "keep in results only"
(named like an earlier judgement), so the model never sees it; this script checks that
too. Nothing is asserted: on the embedded 135M demo model the figures are near chance, and
on a real model (`--backend ollama --model gemma3:12b`) they say how far it agrees with the
people who labelled the file.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

DEFAULT_FILE = C.PUBLIC_RESUMES


def ranks(values: list[float]) -> list[float]:
    """1-based ranks, ties given the average of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(xs: list[float], ys: list[float]) -> float:
    rx, ry = ranks(xs), ranks(ys)
    n = len(xs)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx) ** 0.5
    vy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (vx * vy) if vx and vy else float("nan")


def auc(scores: list[float], positive: list[bool]) -> float:
    pos = [s for s, p in zip(scores, positive, strict=True) if p]
    neg = [s for s, p in zip(scores, positive, strict=True) if not p]
    if not pos or not neg:
        return float("nan")
    wins = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--backend", default="embedded", choices=["embedded", "ollama", "auto"])
    p.add_argument("--model", default="", help="model name (default: the backend's)")
    p.add_argument("--file", type=Path, default=DEFAULT_FILE, help="labelled candidate CSV")
    p.add_argument("--label", default="matched_score", help="the label column (numeric)")
    p.add_argument("--n", type=int, default=0, help="only the first N rows (0: all)")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds for the run")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = p.parse_args()
    if not args.file.exists():
        print(f"no labelled file at {args.file}", file=sys.stderr)
        return 1

    data_dir = C.make_data_dir("quality")
    try:
        C.setup_django(data_dir, {"HRBATCH_LLM_BACKEND": args.backend})
        return _bench(args, data_dir)
    finally:
        C.unload_embedded_model()
        C.stop_all()
        C.cleanup(data_dir, args.keep)


def _bench(args: argparse.Namespace, data_dir: Path) -> int:
    import csv

    from django_q.conf import Conf

    from evaluations import selectors, services
    from evaluations.models import Item

    Conf.SYNC = True
    source = args.file
    if args.n:
        source = data_dir / f"first-{args.n}.csv"
        with args.file.open(encoding="utf-8-sig", newline="") as fin:
            rows = list(csv.reader(fin))
        with source.open("w", encoding="utf-8", newline="") as fout:
            csv.writer(fout).writerows(rows[: args.n + 1])
    input_file = C.upload(source)
    run = services.runs.run_create(
        owner=None, input_file=input_file, model=args.model, backend=args.backend, start=False
    )
    run.refresh_from_db()
    label_role = (run.intake.roles or {}).get(args.label)
    shown = "SHOWN to the model" if label_role == "model" else "never shown to the model"
    print(
        f"quality: {source.name}, {run.total_count} candidates, label {args.label!r} "
        f"(role {label_role!r}: {shown}), backend {args.backend}, {os.cpu_count()} CPUs, "
        f"code {C.code_version()}",
        flush=True,
    )
    t0 = time.monotonic()
    services.runs.run_start(run=run)
    run, _, _, t_end = C.wait_for_run(run.pk, args.timeout, t0=t0, poll=0.5)
    seconds = t_end if t_end is not None else time.monotonic() - t0
    print(
        f"  {run.status}: {run.done_count} scored, {run.failed_count} failed in {seconds:.1f} s, "
        f"model {run.model}",
        flush=True,
    )
    overall: list[float] = []
    labels: list[float] = []
    for extra, fields, result in Item.objects.filter(
        run_id=run.pk, status=Item.Status.DONE
    ).values_list("extra", "input", "result"):
        value = {**extra, **fields}.get(args.label, "")
        try:
            labels.append(float(value))
        except (TypeError, ValueError):
            continue
        overall.append(float(result["scores"]["overall"]))
    if len(labels) < 3:
        print("  too few scored candidates with a numeric label to compare")
        return 0
    middle = sorted(labels)[len(labels) // 2]
    rho = spearman(overall, labels)
    area = auc(overall, [v >= middle for v in labels])
    print()
    print("| figure | value | reading |")
    print("| --- | --- | --- |")
    print(f"| candidates compared | {len(labels)} | scored, with a numeric {args.label} |")
    print(f"| Spearman's rho (overall vs {args.label}) | {rho:.3f} | 0 none, 1 same order |")
    print(f"| AUC (label >= median {middle:g} vs below) | {area:.3f} | 0.5 = chance |")
    consistency = selectors.consistency_report(run)
    print(f"| consistency sample | {consistency['sample']} | {consistency['reading']} |")
    for name, figures in consistency["criteria"].items():
        print(
            f"| consistency: {name} | same {figures['exact_agreement']:.0%}, "
            f"mean diff {figures['mean_abs_diff']} | |"
        )
    impact = selectors.impact_report(run)
    flagged = [r for r in impact if r["flag"]]
    columns = ", ".join(selectors.audit_columns(run)) or "none in this file"
    print(
        f"| adverse impact | {len(impact)} rows, {len(flagged)} below 0.8 | audit-only: {columns} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
