"""The generator of synthetic job applicants: combines the words of
:mod:`devtools.synthetic.data` into rows.

Everything is invented: names are drawn from mixed first/last name lists, companies and
universities are made-up words, e-mail addresses use only example.com / example.org and phone
numbers use the fictional +1-XXX-555-01xx range.

Row ``i`` is generated from its own ``random.Random`` seeded from ``(seed, i)``, so a run is
deterministic for a seed and the first K rows of a large file equal those of a small one. The
only state carried between rows is the set of e-mail addresses already handed out, which keeps
them unique (a numeric suffix is added on a clash); that state depends only on earlier rows, so
the prefix property still holds.
"""

from __future__ import annotations

import csv
import os
import sys
import unicodedata
from bisect import bisect
from collections.abc import Iterator, Sequence
from random import Random
from typing import IO, TypeVar

from devtools.synthetic.data import (
    ACHIEVEMENT_LEADS,
    APPLICANT_WEIGHT,
    AREA_CODES,
    BACHELORS,
    CAREER_CHANGE,
    CATALOG_SPEC,
    CLOSERS,
    COMPANY_KINDS,
    COMPANY_LEGAL,
    COMPANY_STEMS,
    EXPERIENCE,
    EXPERIENCE_NEW,
    FAMILY_ACHIEVEMENTS,
    FAMILY_AREA,
    FAMILY_FIELDS,
    FAMILY_SKILLS,
    FAMILY_WEIGHT,
    FIRST_NAMES,
    FIRST_NAMES_NON_ASCII,
    GAPS,
    GENERIC_SKILLS,
    LAST_NAMES,
    LAST_NAMES_NON_ASCII,
    MASTERS,
    MIDDLE_INITIALS,
    MOTIVATION,
    OPENERS,
    PROJECT_CODENAMES,
    QUALIFIERS,
    SIGNOFFS,
    TERSE,
    TERSE_LEADS,
    UNI_FORMS,
    UNI_PLACES,
    UNRELATED_FIELDS,
)

__all__ = [
    "COLUMNS",
    "MAX_POSITIONS",
    "REFERENCE_YEAR",
    "generate_candidates",
    "position_titles",
    "write_candidates_csv",
]

COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "email",
    "phone",
    "position",
    "years_experience",
    "skills",
    "education",
    "work_history",
    "cover_note",
)

# Work history and graduation years count back from here; fixed so output never depends on
# the date the generator runs.
REFERENCE_YEAR = 2025

_MASK64 = (1 << 64) - 1
T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Derived tables (built once at import).
# --------------------------------------------------------------------------------------------
def _ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits only: 'Łukasz' -> 'lukasz', "O'Brien" -> 'obrien'."""
    special = {
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "Ae",
        "ß": "ss",
        "\u0131": "i",
        "đ": "d",
        "Đ": "D",
        "œ": "oe",
        "Œ": "Oe",
    }
    text = "".join(special.get(ch, ch) for ch in text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _level(title: str) -> str:
    words = title.split()
    if words[0] in {"Junior", "Associate"} or words[-1] in {"Representative", "Coordinator"}:
        return "junior"
    if words[0] in {"Senior", "Staff", "Principal"} or words[-1] in {
        "Manager",
        "Lead",
        "Controller",
        "Partner",
    }:
        return "senior"
    return "mid"


def _plain_title(title: str) -> str:
    for prefix in ("Senior ", "Junior ", "Staff ", "Principal "):
        if title.startswith(prefix):
            return title[len(prefix) :]
    return title


class _Position:
    __slots__ = (
        "core",
        "fam_rest",
        "family",
        "generic",
        "level",
        "off_by_family",
        "title",
        "weight",
    )

    def __init__(
        self, title: str, family: str, core: tuple[str, ...], base: str | None = None
    ) -> None:
        self.title = title
        self.family = family
        self.level = _level(title)
        # How many apply: a qualified title ("Data Analyst (Remote)") draws as its base.
        self.weight = APPLICANT_WEIGHT.get(base or title, 1.0)
        self.core = core
        fam = FAMILY_SKILLS[family]
        self.fam_rest = tuple(s for s in fam if s not in core)
        own = set(core) | set(fam)
        self.generic = tuple(s for s in GENERIC_SKILLS if s not in own)
        # Skills of each other family that are not relevant to this position.
        self.off_by_family = {
            other: tuple(s for s in skills if s not in own)
            for other, skills in FAMILY_SKILLS.items()
            if other != family
        }


def _parse_catalog() -> tuple[_Position, ...]:
    spec = CATALOG_SPEC.replace("\\\n", "")
    out = []
    for line in spec.strip().splitlines():
        title, family, skills = (part.strip() for part in line.split("|"))
        out.append(_Position(title, family, tuple(s.strip() for s in skills.split(";"))))
    return tuple(out)


_CATALOG = _parse_catalog()
MAX_POSITIONS = len(_CATALOG) * (1 + len(QUALIFIERS))
_FAMILIES = tuple(FAMILY_SKILLS)
_FAMILY_TITLES: dict[str, tuple[str, ...]] = {
    fam: tuple(dict.fromkeys(_plain_title(p.title) for p in _CATALOG if p.family == fam))
    for fam in _FAMILIES
}
_FAMILY_MID_TITLES: dict[str, tuple[str, ...]] = {
    fam: tuple(t for t in titles if _level(t) == "mid") or titles
    for fam, titles in _FAMILY_TITLES.items()
}
_GENERIC_SET = frozenset(GENERIC_SKILLS)
_YEARS_PHRASE: tuple[str, ...] = (
    "less than a year",
    "1 year",
    *(f"{y} years" for y in range(2, 31)),
)
_OTHER_FAMILIES: dict[str, tuple[str, ...]] = {
    fam: tuple(f for f in _FAMILIES if f != fam) for fam in _FAMILIES
}
_FIRST_SLUGS = {n: _ascii_slug(n) for n in FIRST_NAMES + FIRST_NAMES_NON_ASCII}
_LAST_SLUGS = {n: _ascii_slug(n) for n in LAST_NAMES + LAST_NAMES_NON_ASCII}
_COMPANIES: tuple[str, ...] = tuple(
    f"{stem} {kind}" for stem in COMPANY_STEMS for kind in COMPANY_KINDS
)
_UNIVERSITIES: tuple[str, ...] = tuple(
    form.format(p=place) for place in UNI_PLACES for form in UNI_FORMS
)
_PHONES: tuple[str, ...] = tuple(
    f"+1-{area}-555-01{xx:02d}" for area in AREA_CODES for xx in range(100)
)
_LEVEL_YEARS: dict[str, tuple[float, float, float]] = {
    # (low, high, mode) for random.triangular
    "junior": (0.0, 5.0, 1.0),
    "mid": (2.0, 12.0, 4.0),
    "senior": (5.0, 22.0, 9.0),
}


# --------------------------------------------------------------------------------------------
# Fast random helpers. random.Random.choice/randint/sample go through _randbelow (several Python
# calls each); indexing with random() is 3-4x cheaper and just as deterministic, which matters
# at ~40 draws per row.
# --------------------------------------------------------------------------------------------
def _choice(rng: Random, seq: Sequence[T]) -> T:
    return seq[int(rng.random() * len(seq))]


def _randint(rng: Random, low: int, high: int) -> int:
    """Uniform integer in [low, high], both inclusive."""
    return low + int(rng.random() * (high - low + 1))


def _sample(rng: Random, seq: Sequence[T], k: int) -> list[T]:
    """``k`` distinct elements of ``seq`` (partial Fisher-Yates)."""
    if k <= 0:
        return []
    pool = list(seq)
    n = len(pool)
    rnd = rng.random
    for j in range(k):
        r = j + int(rnd() * (n - j))
        pool[j], pool[r] = pool[r], pool[j]
    return pool[:k]


def _shuffle(rng: Random, items: list[T]) -> None:
    rnd = rng.random
    for j in range(len(items) - 1, 0, -1):
        r = int(rnd() * (j + 1))
        items[j], items[r] = items[r], items[j]


def position_titles(positions: int = 50) -> list[str]:
    """The first ``positions`` job titles (the pool candidates are spread over)."""
    return [p.title for p in _positions(positions)]


def _positions(positions: int) -> list[_Position]:
    if not 1 <= positions <= MAX_POSITIONS:
        raise ValueError(f"positions must be between 1 and {MAX_POSITIONS}, got {positions}")
    out = list(_CATALOG[:positions])
    for qualifier in QUALIFIERS:
        if len(out) >= positions:
            break
        for base in _CATALOG[: positions - len(out)]:
            title = f"{base.title} ({qualifier})"
            out.append(_Position(title, base.family, base.core, base=base.title))
    return out


# --------------------------------------------------------------------------------------------
# Row generation.
# --------------------------------------------------------------------------------------------
def _years_experience(rng: Random, level: str) -> int:
    r = rng.random()
    if r < 0.75:  # fits the level of the role
        low, high, mode = _LEVEL_YEARS[level]
        years = int(rng.triangular(low, high, mode))
    elif r < 0.97:  # anyone applies to anything: long-tailed
        years = int(rng.expovariate(1 / 6))
    else:  # veterans
        years = _randint(rng, 20, 30)
    return min(years, 30)


def _pick_skills(rng: Random, pos: _Position, match: int, background: str) -> str:
    """3-8 skills; how many fit the position depends on ``match`` (2 strong, 1 partial, 0 weak).

    Off-target skills come from the candidate's ``background`` family (a career changer lists
    what they actually did) or, for same-family weak matches, from generic office skills.
    """
    k = _randint(rng, 3, 8)
    off = pos.off_by_family.get(background, ())
    if match == 2:
        n_core = min(len(pos.core), _randint(rng, 2, max(2, k - 1)))
        n_fam = min(len(pos.fam_rest), k - n_core)
        picked = _sample(rng, pos.core, n_core) + _sample(rng, pos.fam_rest, n_fam)
        if len(picked) < k:
            picked += _sample(rng, pos.generic, k - len(picked))
    elif match == 1:
        n_core = _randint(rng, 1, 2)
        n_fam = _randint(rng, 0, 1)
        rest = max(0, k - n_core - n_fam)
        n_off = min(len(off), _randint(rng, 0, rest))
        picked = (
            _sample(rng, pos.core, n_core)
            + _sample(rng, pos.fam_rest, n_fam)
            + _sample(rng, off, n_off)
            + _sample(rng, pos.generic, rest - n_off)
        )
    else:
        n_fam = 1 if rng.random() < 0.3 else 0
        n_off = min(len(off), _randint(rng, max(1, k // 2), k - n_fam))
        picked = (
            _sample(rng, pos.fam_rest, n_fam)
            + _sample(rng, off, n_off)
            + _sample(rng, pos.generic, k - n_fam - n_off)
        )
    if match != 2:
        _shuffle(rng, picked)
    return "; ".join(picked)


def _education(rng: Random, family: str, years: int) -> str:
    fields = UNRELATED_FIELDS if rng.random() < 0.12 else FAMILY_FIELDS[family]
    field = _choice(rng, fields)
    grad = REFERENCE_YEAR - 1 - years - _randint(rng, 0, 2)
    uni = _choice(rng, _UNIVERSITIES)
    d = rng.random()
    if (family == "data" and d > 0.85) or d > 0.96:
        return f"Ph.D. in {field}, {uni} ({grad})"
    if d < 0.07:
        degree = _choice(rng, ("A.S.", "A.A."))
        return f"{degree} in {field}, {uni} ({grad})"
    bachelor = _choice(rng, BACHELORS[family])
    if d > 0.72 and years >= 2:
        master = _choice(rng, MASTERS[family])
        field2 = field if rng.random() < 0.6 else _choice(rng, FAMILY_FIELDS[family])
        uni2 = _choice(rng, _UNIVERSITIES)
        return (
            f"{master} in {field2}, {uni2} ({grad}); "
            f"{bachelor} in {field}, {uni} ({grad - _randint(rng, 2, 6)})"
        )
    return f"{bachelor} in {field}, {uni} ({grad})"


def _company(rng: Random) -> str:
    name = _choice(rng, _COMPANIES)
    if rng.random() < 0.35:
        name += _choice(rng, COMPANY_LEGAL)
    return name


def _work_history(
    rng: Random, family: str, years: int, companies: list[str], background: str
) -> tuple[str, int]:
    """Return the history text and the number of roles in it (companies are used in order)."""
    titles = _FAMILY_TITLES[background]
    mid_titles = _FAMILY_MID_TITLES[background]
    if years == 0:
        role = _choice(rng, mid_titles)
        kind = _choice(rng, ("a summer internship", "a six-month co-op", "a part-time internship"))
        return f"{role} Intern at {companies[0]} ({REFERENCE_YEAR - 1}), {kind}.", 1
    n_roles = 1 if years < 3 else min(_choice(rng, (1, 2, 2, 3, 3)), years)
    # Split the years into n_roles positive parts, most recent role last.
    cuts = sorted(_sample(rng, range(1, years), n_roles - 1))
    bounds = [0, *cuts, years]
    current = rng.random() < 0.7
    end_year = REFERENCE_YEAR if current else REFERENCE_YEAR - _randint(rng, 0, 1)
    start_all = end_year - years
    parts = []
    for idx in range(n_roles):
        last = idx == n_roles - 1
        if idx == 0 and years >= 8 and rng.random() < 0.5:
            role = f"Junior {_choice(rng, mid_titles)}"
        elif last and years >= 6 and rng.random() < 0.6:
            role = f"Senior {_choice(rng, mid_titles)}"
        else:
            role = _choice(rng, titles if years >= 5 else mid_titles)
        end = "present" if last and current else str(start_all + bounds[idx + 1])
        parts.append(f"{role} at {companies[idx]} ({start_all + bounds[idx]}-{end})")
    if n_roles == 1:
        text = parts[0]
    elif rng.random() < 0.5:
        text = "; ".join(parts)
    else:
        text = ", then ".join(parts)
    r = rng.random()
    if r < 0.15:
        text += f'. Led the "{_choice(rng, PROJECT_CODENAMES)}" initiative, end to end.'
    elif r < 0.22 and not current:
        text += f". Left after the company was acquired by {_choice(rng, _COMPANIES)}, Inc."
    elif r < 0.28:
        text += '. Known to colleagues as "the fixer" for hard escalations.'
    elif r < 0.34:
        text += ". Also mentors at a local nonprofit, two evenings a month."
    elif r < 0.40 and n_roles == 1 and years >= 4:
        text += f". Promoted twice in {years} years."
    else:
        text += "."
    if background != family and rng.random() < 0.5:
        text += f" Moving into {FAMILY_AREA[family]}."
    return text, n_roles


def _cover_note(
    rng: Random,
    pos: _Position,
    background: str,
    years: int,
    match: int,
    skills: str,
    company: str,
    first: str,
) -> str:
    skill_list = skills.split("; ")
    # Name concrete skills in the prose ("Python and Airflow", not "Teamwork and Slack").
    specific = [s for s in skill_list if s not in _GENERIC_SET]
    skill1, skill2 = _sample(rng, specific if len(specific) >= 2 else skill_list, 2)
    ctx = {
        "position": pos.title,
        "yrs": _YEARS_PHRASE[years],
        "area": FAMILY_AREA[background],
        "target_area": FAMILY_AREA[pos.family],
        "target_skill": _choice(rng, pos.core),
        "company": company,
        "skill1": skill1,
        "skill2": skill2.lower() if " " in skill2 and skill2[1:].islower() else skill2,
        "weeks": _randint(rng, 2, 8),
    }
    style = rng.random()
    if style < 0.2:  # terse, low effort
        ctx["yrs_cap"] = ctx["yrs"].capitalize()
        return f"{_choice(rng, TERSE_LEADS)} {_choice(rng, TERSE)}".format(**ctx)
    sentences = [_choice(rng, OPENERS)]
    sentences.append(_choice(rng, EXPERIENCE_NEW if years == 0 else EXPERIENCE))
    if background != pos.family and (match == 0 or rng.random() < 0.5):
        sentences.append(_choice(rng, CAREER_CHANGE))
    elif match == 0:
        sentences.append(_choice(rng, GAPS))
    rich = style > 0.55
    if rich and years > 0:
        achievement = _choice(rng, FAMILY_ACHIEVEMENTS[background]).format(
            pct=_randint(rng, 8, 60),
            num=_randint(rng, 2, 9),
            money=_randint(rng, 40, 900),
            skill1=skill1,
        )
        sentences.append(_choice(rng, ACHIEVEMENT_LEADS).replace("{achievement}", achievement))
    if rich or rng.random() < 0.4:
        sentences.append(_choice(rng, MOTIVATION))
    if len(sentences) < 5 and rng.random() < 0.6:
        sentences.append(_choice(rng, CLOSERS))
    sentences = [t.format(**ctx) for t in sentences[:5]]
    r = rng.random()
    if r < 0.07:  # a paragraph break inside the note
        cut = _randint(rng, 1, len(sentences) - 1)
        sep = "\n\n" if rng.random() < 0.5 else "\n"
        text = " ".join(sentences[:cut]) + sep + " ".join(sentences[cut:])
    else:
        text = " ".join(sentences)
    if r > 0.9:
        text += f"\n{_choice(rng, SIGNOFFS)} {first}"
    elif r > 0.8:
        text += f" - {first}"
    return text


def _strip_legal(company: str) -> str:
    for suffix in COMPANY_LEGAL:
        if company.endswith(suffix):
            return company[: -len(suffix)]
    return company


def generate_candidates(n: int, *, seed: int = 0, positions: int = 50) -> Iterator[dict[str, str]]:
    """Yield ``n`` synthetic applicants as dicts keyed by :data:`COLUMNS` (all values str).

    Arguments are validated immediately (``ValueError``), rows are produced lazily.
    """
    rows = _generate_rows(n, seed=seed, positions=positions)
    return (dict(zip(COLUMNS, row, strict=True)) for row in rows)


def _generate_rows(n: int, *, seed: int, positions: int) -> Iterator[tuple[str, ...]]:
    """Rows as tuples in :data:`COLUMNS` order (what the CSV writer wants)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return _rows(n, seed, _positions(positions))


def _rows(n: int, seed: int, pool: list[_Position]) -> Iterator[tuple[str, ...]]:
    cum: list[float] = []
    total = 0.0
    level_weight = {"junior": 1.4, "mid": 1.0, "senior": 0.8}
    for pos in pool:
        total += FAMILY_WEIGHT[pos.family] * level_weight[pos.level] * pos.weight
        cum.append(total)

    base = (seed & _MASK64) << 64
    used_emails: set[str] = set()
    rng = Random()
    first_ascii, last_ascii = FIRST_NAMES, LAST_NAMES
    for i in range(n):
        rng.seed(base | i)
        # Name
        if rng.random() < 0.005:
            k = int(rng.random() * 3)
            first = _choice(rng, FIRST_NAMES_NON_ASCII if k != 1 else first_ascii)
            last = _choice(rng, LAST_NAMES_NON_ASCII if k != 0 else last_ascii)
        else:
            first = _choice(rng, first_ascii)
            last = _choice(rng, last_ascii)
        middle = _choice(rng, MIDDLE_INITIALS) if rng.random() < 0.12 else ""
        name = f"{first} {middle}. {last}" if middle else f"{first} {last}"

        # E-mail derived from the name, unique across the file.
        f_slug, l_slug = _FIRST_SLUGS[first], _LAST_SLUGS[last]
        style = int(rng.random() * 6)
        if style == 0:
            local = f"{f_slug}.{l_slug}"
        elif style == 1:
            local = f"{f_slug[0]}{l_slug}"
        elif style == 2:
            local = f"{f_slug}_{l_slug}"
        elif style == 3:
            local = f"{f_slug}{l_slug[0]}"
        elif style == 4:
            local = f"{f_slug}.{l_slug}{_randint(rng, 1970, 2004) % 100:02d}"
        else:
            local = f"{l_slug}.{f_slug}"
        domain = "example.com" if rng.random() < 0.7 else "example.org"
        email = f"{local}@{domain}"
        if email in used_emails:  # clash with an earlier row: jane.doe2, jane.doe85_2, ...
            if local[-1].isdigit():
                local += "_"
            suffix = 2
            while f"{local}{suffix}@{domain}" in used_emails:
                suffix += 1
            email = f"{local}{suffix}@{domain}"
        used_emails.add(email)

        phone = _choice(rng, _PHONES)
        pos = pool[bisect(cum, rng.random() * total)]
        years = _years_experience(rng, pos.level)
        # How well the applicant fits: 2 strong, 1 partial, 0 weak. The background family
        # drives the work history, education and off-target skills (career changers).
        m = rng.random()
        match = 2 if m < 0.45 else (1 if m < 0.8 else 0)
        b = rng.random()
        if (match == 1 and b < 0.4) or (match == 0 and b < 0.75):
            background = _choice(rng, _OTHER_FAMILIES[pos.family])
        else:
            background = pos.family
        skills = _pick_skills(rng, pos, match, background)
        education = _education(rng, background, years)
        companies = [_company(rng), _company(rng), _company(rng)]
        history, n_roles = _work_history(rng, pos.family, years, companies, background)
        recent = _strip_legal(companies[n_roles - 1])  # the most recent employer is listed last
        note = _cover_note(rng, pos, background, years, match, skills, recent, first)
        yield (
            f"C{i + 1:06d}",
            name,
            email,
            phone,
            pos.title,
            str(years),
            skills,
            education,
            history,
            note,
        )


def write_candidates_csv(
    path: str | os.PathLike[str] | IO[str],
    n: int,
    *,
    seed: int = 0,
    positions: int = 50,
) -> int:
    """Write ``n`` candidates as CSV (UTF-8, no BOM, header row); return the row count.

    ``path`` may be a filesystem path, ``"-"`` for stdout, or an open text file (which should
    have been opened with ``newline=""``).
    """
    rows = _generate_rows(n, seed=seed, positions=positions)
    if isinstance(path, str) and path == "-":
        return _write(sys.stdout, rows)
    if hasattr(path, "write"):
        return _write(path, rows)  # type: ignore[arg-type]
    with open(path, "w", encoding="utf-8", newline="") as fh:  # type: ignore[arg-type]
        return _write(fh, rows)


def _write(fh: IO[str], rows: Iterator[tuple[str, ...]]) -> int:
    writer = csv.writer(fh)
    writer.writerow(COLUMNS)
    count = 0
    batch: list[tuple[str, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= 1000:
            writer.writerows(batch)
            count += len(batch)
            batch.clear()
    writer.writerows(batch)
    return count + len(batch)
