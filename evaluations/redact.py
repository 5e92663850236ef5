"""Identity out of the text: emails, phone numbers, URLs and the candidate's own name are
replaced with placeholders before a candidate's text reaches the model.

Columns kept for results never reach the model; this covers what the résumé text itself
says. Phone numbers are found by Google's libphonenumber rules (the `phonenumbers` package):
a pattern of digits alone also matches years ("2003-2011"), decimals ("0.416666667") and
ID numbers, which are not phone numbers and must stay. Emails and URLs are regular enough
for patterns. Names come from the columns marked as personal (e.g. `name`), matched as whole
words, the full name first and then each part of three letters or more.

What it does not catch, and says so in the README: names that are not in a personal column
(a referee's name, a name only in the text), street addresses, and numbers written in a
format libphonenumber does not accept as a valid number for the region.
"""

from __future__ import annotations

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


@dataclass
class Redactor:
    """Redacts one candidate's text; `counts` adds up what it replaced, by kind."""

    names: list[str] = field(default_factory=list)
    region: str = "US"
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._name = _name_pattern(self.names)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        text = self._sub(_EMAIL, EMAIL, text)
        text = self._links(text)
        text = self._phones(text)
        if self._name is not None:
            text = self._sub(self._name, NAME, text)
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
            if sum(ch.isdigit() for ch in stretch.group(0)) < 7:  # no phone is shorter
                continue
            for match in phonenumbers.PhoneNumberMatcher(
                stretch.group(0), self.region, leniency=phonenumbers.Leniency.VALID
            ):
                spans.append((stretch.start() + match.start, stretch.start() + match.end))
        for start, end in reversed(spans):
            text = text[:start] + PHONE + text[end:]
        self.counts["phone"] += len(spans)
        return text


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """Whole-word, case-insensitive: each full name, then each of its words of three
    letters or more (so "Ana Lopez" also hides "Lopez" alone), longest first."""
    terms: set[str] = set()
    for name in names:
        name = " ".join((name or "").split())
        if len(name) < 3:
            continue
        terms.add(name)
        terms.update(_WORD.findall(name))
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def redact_fields(
    fields: dict[str, str], *, names: Iterable[str] = (), region: str = "US"
) -> tuple[dict[str, str], Counter[str]]:
    """The candidate's fields with identity replaced in every value, and what was replaced."""
    redactor = Redactor(names=list(names), region=region)
    return {key: redactor(value) for key, value in fields.items()}, redactor.counts
