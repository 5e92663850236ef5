"""What the identity redactor catches, what it wrongly takes, and what it costs (issue 9).

    .venv/bin/python bench/redaction.py [--synthetic N]

1. Synthetic candidates whose name, e-mail and phone are known: each is written into the
   candidate's text in one of several ways, and the share of each found is printed (recall).
2. The real public résumés (../shared/data/resume_data_97.csv): what is replaced, by kind,
   and by a plain digit pattern for comparison (what libphonenumber spares: years, decimals).
3. Time per candidate.

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import PUBLIC_RESUMES  # noqa: E402
from devtools.synthetic import generate_candidates  # noqa: E402
from evaluations.redact import Redactor  # noqa: E402

REAL = PUBLIC_RESUMES
NAIVE_PHONE = re.compile(r"\+?\d[\d\s().-]{7,}\d")
WAYS = [
    "Contact {name} at {email} or {phone}.",
    "{first} can be reached on {phone} ({email}).",
    "References on request. Email: {email}. Tel {phone}. Signed, {name}",
    "{last}, {first} | {email} | {phone_dots}",
    "Mobile: {phone_paren}. I am {name_upper}.",
]


def _found(secret: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(secret)}(?!\w)", text, re.IGNORECASE) is not None


def synthetic(n: int) -> None:
    rng = random.Random(11)
    kept: Counter[str] = Counter()
    planted: Counter[str] = Counter()
    started = time.perf_counter()
    for person in generate_candidates(n, seed=5):
        first, *_, last = person["name"].split()
        digits = re.sub(r"\D", "", person["phone"])[-10:]
        fields = {
            "name": person["name"],
            "name_upper": person["name"].upper(),
            "first": first,
            "last": last,
            "email": person["email"],
            "phone": person["phone"],
            "phone_dots": f"{digits[:3]}.{digits[3:6]}.{digits[6:]}",
            "phone_paren": f"({digits[:3]}) {digits[3:6]}-{digits[6:]}",
        }
        text = rng.choice(WAYS).format(**fields) + " " + person["cover_note"]
        redacted = Redactor(names=[person["name"]])(text)
        for kind, secrets in {
            "name": [first, last],
            "email": [person["email"]],
            "phone": [person["phone"], fields["phone_dots"], fields["phone_paren"]],
        }.items():
            for secret in secrets:
                if _found(secret, text):
                    planted[kind] += 1
                    kept[kind] += _found(secret, redacted)
    seconds = time.perf_counter() - started
    print(f"Synthetic candidates: {n}, identities written into their text")
    print(f"{'kind':<8}{'planted':>10}{'caught':>10}{'recall':>9}")
    for kind in ("name", "email", "phone"):
        caught = planted[kind] - kept[kind]
        print(f"{kind:<8}{planted[kind]:>10}{caught:>10}{caught / max(planted[kind], 1):>9.1%}")
    print(f"time: {seconds / n * 1000:.2f} ms per candidate\n")


def real() -> None:
    if not REAL.exists():
        print(f"(no {REAL}: real-data figures skipped)")
        return
    with REAL.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    redactor = Redactor()
    naive = 0
    chars = 0
    started = time.perf_counter()
    for row in rows:
        for value in row.values():
            chars += len(value)
            redactor(value)
            naive += len(NAIVE_PHONE.findall(value))
    seconds = time.perf_counter() - started
    print(f"Real résumés ({REAL.name}): {len(rows)} rows, {chars / len(rows):,.0f} chars each")
    for kind in ("email", "phone", "url", "name"):
        print(f"  {kind:<6} replaced: {redactor.counts[kind]}")
    print(f"  a plain digit pattern would take {naive} 'phone numbers' (years, decimals, IDs)")
    print(f"time: {seconds / len(rows) * 1000:.2f} ms per candidate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=2000)
    args = parser.parse_args()
    synthetic(args.synthetic)
    real()


if __name__ == "__main__":
    main()
