"""Text that tries to instruct the AI: how much is caught, how many false alarms (issue 17).

    .venv/bin/python bench/injection.py [--synthetic N]

1. The written attack set (devtools/injections.py), each attack inside a whole synthetic
   candidate: the share caught, by language and by technique, and any attack missed; then
   the attacks written after the rules (HELD_OUT; 22 of 26 caught at first, see there).
2. Hard benign sentences (the same words used innocently): false alarms.
3. The real public résumés (../shared/data/resume_data_97.csv), every column of each row:
   false alarms, and how many have too little text to score.
4. N synthetic candidates: false alarms, and the time per candidate (the detector runs at
   ingest, once per row).

Figures are printed, never asserted (tests/test_injection.py and
tests/public_data/test_injection_real.py hold the thresholds).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import PUBLIC_RESUMES, code_version, foreign_note, machine_busy  # noqa: E402
from devtools.injections import ATTACKS, BENIGN, HELD_OUT, Attack, attack_candidates  # noqa: E402
from devtools.synthetic import generate_candidates  # noqa: E402
from evaluations import flags, injection  # noqa: E402

REAL = PUBLIC_RESUMES
# The default of HRBATCH_MIN_TEXT_CHARS.
MIN_CHARS = 2


def attacks(written: list[Attack], title: str) -> None:
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    missed = []
    for attack, fields in attack_candidates(written):
        hit = flags.INSTRUCTIONS_IN_TEXT in flags.candidate_flags(fields, min_chars=MIN_CHARS)
        for key in (f"language {attack.language}", f"technique {attack.technique}", "all"):
            total[key] += 1
            caught[key] += hit
        if not hit:
            missed.append(attack)
    print(f"{title}: {len(written)} attacks, each inside a whole synthetic candidate")
    print(f"  caught {caught['all']} of {total['all']} ({caught['all'] / total['all']:.1%})")
    for key in sorted(k for k in total if k != "all"):
        print(f"  {key:<28}{caught[key]:>4} / {total[key]:<4}")
    for attack in missed:
        print(f"  MISSED ({attack.language}, {attack.technique}): {attack.text!r}")
    print()


def benign() -> None:
    alarms = [text for text in BENIGN if injection.instructs_the_ai(text)]
    print(f"Hard benign sentences: {len(BENIGN)}, false alarms {len(alarms)}")
    for text in alarms:
        print(f"  FALSE ALARM: {text!r}")
    print()


def real() -> None:
    if not REAL.exists():
        print(f"(no {REAL}: real-data figures skipped)\n")
        return
    with REAL.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    found: Counter[str] = Counter()
    for row in rows:
        for flag in flags.candidate_flags(row, min_chars=MIN_CHARS):
            found[flag] += 1
        for finding in flags.instructions_found(row):
            print(f"  FALSE ALARM: {finding}")
    n = len(rows)
    alarms = found[flags.INSTRUCTIONS_IN_TEXT]
    print(f"Real résumés ({REAL.name}): {n} rows, every column")
    print(f"  false alarms (instructions_in_text): {alarms} ({alarms / n:.1%})")
    print(f"  too little text to score: {found[flags.TOO_LITTLE_TEXT]}")
    print()


def synthetic(n: int) -> None:
    people = list(generate_candidates(n, seed=23))
    chars = sum(len(" ".join(p.values())) for p in people)
    busy, own = machine_busy(), time.process_time()
    started = time.perf_counter()
    alarms = sum(
        flags.INSTRUCTIONS_IN_TEXT in flags.candidate_flags(p, min_chars=MIN_CHARS) for p in people
    )
    seconds = time.perf_counter() - started
    foreign = (machine_busy() - busy) - (time.process_time() - own)
    print(f"Synthetic candidates: {n} ({chars / n:,.0f} characters each)")
    print(f"  false alarms: {alarms} ({alarms / n:.2%})")
    print(f"  time: {seconds / n * 1e6:,.0f} µs per candidate (one core)")
    print(f"  {foreign_note(foreign, seconds)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=5000)
    args = parser.parse_args()
    print(f"hrbatch {code_version()}\n")
    attacks(ATTACKS, "Attack set")
    attacks(HELD_OUT, "Attacks written after the rules")
    benign()
    real()
    synthetic(args.synthetic)


if __name__ == "__main__":
    main()
