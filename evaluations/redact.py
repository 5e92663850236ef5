"""Identity out of the text: emails, phone numbers, URLs and the candidate's own name are
replaced with placeholders before a candidate's text reaches the model.

Columns kept for results never reach the model; this covers what the résumé text itself
says. Phone numbers are found by Google's libphonenumber rules (the `phonenumbers` package):
a pattern of digits alone also matches years ("2003-2011"), decimals ("0.416666667") and
ID numbers, which are not phone numbers and must stay. Emails and URLs are regular enough
for patterns. Names come from the columns marked as personal (e.g. `name`), matched as whole
words, the full name first and then each part of three letters or more, and only where the
value looks like a person's name (`looks_like_name`): a "name" column that holds "Linux •
Managing" would otherwise take those words out of the candidate's skills.

What it does not catch, and says so in the README: names that are not in a personal column
(a referee's name, a name only in the text), street addresses, and numbers written in a
format libphonenumber does not accept as a valid number for the region.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers

EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
URL = "[URL]"
NAME = "[NAME]"
KINDS = {EMAIL: "email", PHONE: "phone", URL: "url", NAME: "name"}

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Links with a scheme or www., and bare domains under common top-level domains
# in lower case (linkedin.com/in/…, github.io): "Node.js" and "ASP.NET" are not links.
_TLDS = (
    "com|org|net|io|dev|me|co|ai|app|info|biz|edu|gov|uk|de|fr|in|us|ca|au|nl|es|it|ch|"
    "se|no|dk|fi|pl|br|mx|jp|cn|ru|eu|tech|site|online|xyz|page|ly"
)
_URL = re.compile(
    r"(?:(?:https?|ftp)://|www\.)[^\s<>\"'\]\[)(,]+"
    rf"|(?<![\w@.-])(?-i:(?:[a-z0-9-]+\.)+(?:{_TLDS}))(?:/[^\s<>\"'\]\[)(,]*)?(?![\w-])",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]{3,}")
# Where a phone number could be: digits with the separators numbers are written with
# (spaces, dots, dashes, slashes, brackets), a leading + or (, and an extension.
_PHONE_STRETCH = re.compile(
    r"[+(]?\d[\d \t.()/\-\u2010-\u2015]{5,}\d(?:\s*(?:ext\.?|x|#)\s*\d{1,6})?", re.I
)
# What a person's name is made of: words of letters (with the hyphens, apostrophes and
# full stops of "Mary-Jane", "O'Brien", "Dr."), at most a comma between them ("Lopez,
# Ana"), and brackets or quotes around the whole.
_NAME_WORD = re.compile(r"[^\W\d_]+(?:[-'’.][^\W\d_]*)*\.?")
_NAME_SPLIT = re.compile(r"\s*,\s*|\s+")
_NAME_WORD_PARTS = re.compile(r"[-'’.]")
_NAME_MAX_WORDS = 4
# Lower-case words that belong inside names ("Ludwig van Beethoven", "da Silva").
_PARTICLES = "van von der den de del della di da das dos du la le y e bin ibn al el ter ten zu af"
_NAME_PARTICLES = frozenset(_PARTICLES.split())
# Words a name column holds when it does not hold names: skills, job titles, placeholders
# (a "Name" column of "Linux • Managing", "Python Developer" or "Not Provided"). Words
# that are also names (Ruby, Rust, Spark, Nurse, Sales, Ai, Bi, Hunter, Dean) are left out.
_NOT_NAMES = """
    python java javascript typescript linux unix windows excel powerpoint sql mysql
    postgresql oracle mongodb html css php react angular node django hadoop aws azure gcp
    cloud docker kubernetes git tableau sap salesforce matlab kotlin golang
    data science machine learning deep analytics analysis analyst developer development
    engineer engineering software hardware network networking security systems system
    manager managing management lead leading leadership director consultant consulting
    designer design architect administrator admin assistant associate intern trainee
    specialist coordinator officer executive supervisor technician representative
    scientist teacher accountant accounting marketing finance financial operations
    business project product customer service services support team teamwork
    communication communications skills experience years senior junior head chief
    microsoft google web mobile digital technical technology hr qa ui ux seo crm erp ml
    etl api devops fullstack frontend backend full stack programming testing training
    planning research writing reporting banking retail logistics
    not provided none null unknown anonymous candidate applicant name test sample
"""
_NOT_NAME_WORDS = frozenset(_NOT_NAMES.split())


def looks_like_name(value: str) -> bool:
    """Whether `value` could be a person's name: one to four words of letters (and
    lower-case particles such as "van"), each capitalised or in capitals (a script without
    capitals counts), no digits, bullets or other signs, and no word that is a skill, a job
    title or a placeholder ("Python Developer", "Linux • Managing", "Not Provided")."""
    text = value.strip().strip("()[]{}\"'“”‘’ ")
    if not text:
        return False
    words = [word for word in _NAME_SPLIT.split(text) if word]
    if text.count(",") > 1 or not all(_NAME_WORD.fullmatch(word) for word in words):
        return False
    main = [word for word in words if word not in _NAME_PARTICLES]
    if not 1 <= len(main) <= _NAME_MAX_WORDS:
        return False
    for word in main:
        # Capitalised words only ("ana lopez" is not taken for a name), though a capital
        # may follow a particle ("d'Alembert", "al-Rashid").
        if word[0].islower() and not any(ch.isupper() for ch in word[1:]):
            return False
        if any(part in _NOT_NAME_WORDS for part in _NAME_WORD_PARTS.split(word.casefold())):
            return False
    return True


# A link to a person's own profile: someone's contact details wherever it is.
_PROFILE = re.compile(r"linkedin\.com/in/", re.IGNORECASE)
# What is left of a value once its contact details are placeholders: words or numbers?
_SOMETHING_ELSE = re.compile(r"[^\W_]")


def is_contact(value: str) -> bool:
    """Whether a value is someone's contact details: nothing but e-mail addresses, links
    and phone numbers, or a link to a person's profile (linkedin.com/in/…). A job's text
    that mentions where to apply is not; a job "title" that is a LinkedIn address is."""
    if _PROFILE.search(value):
        return True
    redactor = Redactor()
    left = redactor(value)
    if not sum(redactor.counts.values()):
        return False
    for placeholder in (EMAIL, URL, PHONE):
        left = left.replace(placeholder, "")
    return not _SOMETHING_ELSE.search(left)


@dataclass
class Redactor:
    """Redacts one candidate's text; `counts` adds up what it replaced, by kind."""

    names: list[str] = field(default_factory=list)
    region: str = "US"
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._name = _Names(self.names)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        text = self._sub(_EMAIL, EMAIL, text)
        text = self._links(text)
        text = self._phones(text)
        if self._name.terms:
            text, count = self._name.sub(text)
            self.counts["name"] += count
        return text

    def _sub(self, pattern: re.Pattern[str], placeholder: str, text: str) -> str:
        text, count = pattern.subn(placeholder, text)
        self.counts[KINDS[placeholder]] += count
        return text

    def _links(self, text: str) -> str:
        def placeholder(match: re.Match[str]) -> str:
            # A full stop or comma right after a link ends the sentence, not the link.
            link = match.group(0)
            return URL + link[len(link.rstrip(".,;:!?")) :]

        text, count = _URL.subn(placeholder, text)
        self.counts["url"] += count
        return text

    def _phones(self, text: str) -> str:
        # libphonenumber's matcher is thorough but slow on long text; it only ever runs on
        # the stretches that could hold a number (seven digits or more with separators).
        spans = []
        for stretch in _PHONE_STRETCH.finditer(text):
            for start, end in _phone_spans(stretch.group(0), self.region):
                spans.append((stretch.start() + start, stretch.start() + end))
        for start, end in reversed(spans):
            text = text[:start] + PHONE + text[end:]
        self.counts["phone"] += len(spans)
        return text


@functools.lru_cache(maxsize=8192)
def _phone_spans(stretch: str, region: str) -> tuple[tuple[int, int], ...]:
    """Where the phone numbers are in one stretch of digits and separators. Cached: the
    same stretches come back candidate after candidate (year ranges such as "(2006-2023",
    which libphonenumber takes a while to turn down), and the answer depends on nothing else.
    """
    if sum(ch.isdigit() for ch in stretch) < 7:  # no phone is shorter
        return ()
    return tuple(
        (match.start, match.end)
        for match in phonenumbers.PhoneNumberMatcher(
            stretch, region, leniency=phonenumbers.Leniency.VALID
        )
    )


def _is_word_char(ch: str) -> bool:
    """What `\\w` matches in a str pattern: alphanumerics and the underscore."""
    return ch.isalnum() or ch == "_"


class _Names:
    """The candidate's names, found as whole words, case-insensitively: each full name,
    then each of its words of three letters or more (so "Ana Lopez" also hides "Lopez"
    alone); where two start at the same place, the longer wins.

    Built once per candidate, so it compiles nothing: a regular expression per candidate
    cost more than the rest of the redaction (bench/engine_ceiling.py). The text is
    lower-cased once and each term looked up with `str.find`; a text whose lower case
    changes its length (a few letters such as "İ"), or a name that begins or ends
    with a sign rather than a letter, falls back to the one-off pattern.
    """

    def __init__(self, names: Iterable[str]) -> None:
        terms: set[str] = set()
        for name in names:
            name = " ".join((name or "").split())
            if len(name) < 3 or not looks_like_name(name):
                continue
            terms.add(name)
            terms.update(_WORD.findall(name))
        # Longest first: the order in which a match at one place is chosen.
        self.terms = sorted(terms, key=len, reverse=True)
        self._lowered = [term.lower() for term in self.terms]
        self._pattern: re.Pattern[str] | None = None
        self._exact = all(
            _is_word_char(term[0]) and _is_word_char(term[-1]) and len(low) == len(term)
            for term, low in zip(self.terms, self._lowered, strict=True)
        )

    def sub(self, text: str) -> tuple[str, int]:
        """The text with each name replaced by NAME, and how many were replaced."""
        lowered = text.lower()
        if not self._exact or len(lowered) != len(text):
            return self._fallback().subn(NAME, text)
        found: list[tuple[int, int, int]] = []  # (start, rank, end)
        for rank, term in enumerate(self._lowered):
            at = lowered.find(term)
            while at >= 0:
                end = at + len(term)
                if (at == 0 or not _is_word_char(text[at - 1])) and (
                    end == len(text) or not _is_word_char(text[end])
                ):
                    found.append((at, rank, end))
                at = lowered.find(term, at + 1)
        if not found:
            return text, 0
        # As a regular expression scans: the leftmost match, the longest term there,
        # then on from its end.
        found.sort()
        parts: list[str] = []
        done = 0
        for start, _, end in found:
            if start < done:
                continue
            parts += (text[done:start], NAME)
            done = end
        parts.append(text[done:])
        return "".join(parts), len(parts) // 2

    def _fallback(self) -> re.Pattern[str]:
        if self._pattern is None:
            alternatives = "|".join(re.escape(t) for t in self.terms)
            self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
        return self._pattern


def redact_fields(
    fields: dict[str, str], *, names: Iterable[str] = (), region: str = "US"
) -> tuple[dict[str, str], Counter[str]]:
    """The candidate's fields with identity replaced in every value, and what was replaced."""
    redactor = Redactor(names=list(names), region=region)
    return {key: redactor(value) for key, value in fields.items()}, redactor.counts
