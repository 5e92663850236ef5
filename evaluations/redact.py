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
            if len(name) < 3:
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
