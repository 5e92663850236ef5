"""Identity out of the text (issue 9, part 5): what the redactor replaces, and what it keeps.

Checked on the 35-column résumé file (tests/fixtures; the public one under make
test-public-data), which must lose nothing that is not identity, and on synthetic
candidates whose name, e-mail and phone are known and written into their text.
"""

from __future__ import annotations

import csv
import random
import re

import pytest

from devtools.synthetic import generate_candidates
from evaluations.redact import Redactor, looks_like_name, redact_fields
from tests.support.files import resumes


def test_emails_phones_urls_and_the_candidates_own_name_become_placeholders() -> None:
    text = (
        "Ana Lopez, ana.lopez@mail.example, +1 (415) 555-0132, 020 7946 0958 (UK: +44 20 7946 "
        "0958), linkedin.com/in/analopez and HTTPS://github.com/ana-l. LOPEZ led a team."
    )
    fields, counts = redact_fields({"cover_note": text}, names=["Ana Lopez"])

    assert fields["cover_note"] == (
        "[NAME], [EMAIL], [PHONE], 020 7946 0958 (UK: [PHONE]), [URL] and [URL]. [NAME] led a team."
    )
    assert counts == {"name": 2, "email": 1, "phone": 2, "url": 2}


def test_numbers_and_words_that_are_not_identity_stay() -> None:
    text = (
        "2003-2011 at Acme; GPA 3.85/4.00; matched 0.416666667; ID 123456789; Node.js, "
        "ASP.NET, Vue.js, e.g. CI/CD; Analytics lead; Lopezia Ltd."
    )
    redactor = Redactor(names=["Ana Lopez"])

    assert redactor(text) == text
    assert sum(redactor.counts.values()) == 0


def test_every_known_identity_of_synthetic_candidates_is_caught() -> None:
    rng = random.Random(7)
    people = list(generate_candidates(200, seed=3))
    missed: list[str] = []
    for person in people:
        first = person["name"].split()[0]
        text = rng.choice(
            [
                "Contact {name} at {email} or {phone}.",
                "{first} can be reached on {phone} ({email}).",
                "References on request. Email: {email}. Tel {phone}. Signed, {name}",
            ]
        ).format(first=first, **person)
        redacted, _ = redact_fields({"t": text}, names=[person["name"]])
        for secret in (person["email"], person["phone"], person["name"], first):
            if re.search(rf"(?<!\w){re.escape(secret)}(?!\w)", redacted["t"], re.IGNORECASE):
                missed.append(f"{secret!r} in {redacted['t']!r}")

    assert missed == []


@pytest.mark.resumes35
def test_the_resumes_lose_only_links_and_keep_their_numbers() -> None:
    with resumes().open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    redactor = Redactor()
    changed_columns: set[str] = set()
    for row in rows:
        for column, value in row.items():
            if redactor(value) != value:
                changed_columns.add(column.lstrip("\ufeff"))

    # The file holds company and profile links but no e-mails or phone numbers; its
    # dates, decimals and scores must not be taken for phone numbers.
    assert redactor.counts["email"] == 0 and redactor.counts["phone"] == 0
    assert redactor.counts["url"] > 0
    assert changed_columns <= {
        "company_urls",
        "online_links",
        "extra_curricular_organization_links",
        "career_objective",
        "responsibilities",
        "skills",
    }
    assert "company_urls" in changed_columns


def test_names_are_whole_words_in_any_case_the_full_name_counted_once() -> None:
    redactor = Redactor(names=["Mary-Jane O'Brien", "Li"])
    text = (
        "MARY-JANE O'BRIEN wrote this. Mary-Jane led; o'brien signed. Brien (alone), "
        "Maryland, Janet, Brienne and mary_jane stay; so does Li (too short)."
    )

    assert redactor(text) == (
        "[NAME] wrote this. [NAME]-[NAME] led; o'[NAME] signed. [NAME] (alone), "
        "Maryland, Janet, Brienne and mary_jane stay; so does Li (too short)."
    )
    assert redactor.counts["name"] == 5


def test_names_beside_letters_whose_lower_case_is_longer_and_names_in_signs() -> None:
    # "İ" lower-cases to two characters: the text is then matched the slower way, with
    # the same result.
    redactor = Redactor(names=["Ana Lopez", "(Ana)"])
    text = "İstanbul: ANA LOPEZ, then (ana) and Ana  Lopez (two spaces: two names)."

    assert (
        redactor(text)
        == "İstanbul: [NAME], then [NAME] and [NAME]  [NAME] (two spaces: two names)."
    )
    assert redactor.counts["name"] == 4
    again = Redactor(names=["Ana Lopez"])
    assert again("ANA LOPEZ, Ana  Lopez") == "[NAME], [NAME]  [NAME]"


def test_a_name_is_redacted_only_where_it_looks_like_a_persons_name() -> None:
    # A "name" column holding skills: its words stay in the text (issue 17, item 15).
    redactor = Redactor(names=["Linux • Managing"])
    text = "Skills: Linux • Managing teams; Linux admin."

    assert redactor(text) == text
    assert redactor.counts["name"] == 0
    # The same Redactor on a real name still hides it.
    assert Redactor(names=["Ana Lopez"])("Skills: Ana Lopez, Linux") == "Skills: [NAME], Linux"


def test_what_looks_like_a_persons_name() -> None:
    names = [
        "Ana Lopez",
        "Mary-Jane O'Brien",
        "Ludwig van Beethoven",
        "JOHN SMITH",
        "Dr. Ana Lopez",
        "Lopez, Ana",
        "Zoë Ångström",
        "José María García López",
        "王伟",
        "Li",
        "(Ana)",
    ]
    not_names = [
        "Linux • Managing",
        "Python Developer",
        "Data Engineer",
        "C++",
        "Not Provided",
        "N/A",
        "3D Modelling",
        "SQL, Excel",
        "www.linkedin.com/in/analopez",
        "ana@mail.example",
        "Ana Lopez 2",
        "ana lopez",
        "Project Management Communication Leadership Teamwork",
        "",
    ]

    assert [n for n in names if not looks_like_name(n)] == []
    assert [n for n in not_names if looks_like_name(n)] == []
