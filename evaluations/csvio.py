"""Streaming reader for uploaded candidate CSV files.

Pure Python (no Django imports). Nothing here holds a whole file in memory: :func:`sniff`
looks at a bounded sample, and :func:`read_records`, :func:`count_records` and
:func:`preview` stream the file through :mod:`csv`.

Row numbers are *spreadsheet* row numbers, i.e. what the user sees in Excel: every CSV
record is one row (a quoted value containing line breaks is still one row), the header is
row 1 (or a later row if the file starts with blank rows) and the first data record is the
row after it.

Typical use::

    layout = sniff(path)                        # raises CsvProblem
    for row, values, problem in read_records(path, layout, id_column="id"):
        ...                                     # may raise CsvProblem (e.g. header_only)

All user-facing messages are complete sentences addressed to a non-technical HR user and
name the fix.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ENCODING_CHOICES",
    "FIELD_SIZE_LIMIT",
    "CsvLayout",
    "CsvProblem",
    "ReadStats",
    "RowProblem",
    "count_records",
    "neutralize_cell",
    "preview",
    "read_records",
    "sniff",
]

#: Longest single value (in characters) we accept; longer values give a ``field_too_long``
#: row problem instead of a crash. Applied process-wide via :func:`csv.field_size_limit`
#: (only ever raised, never lowered).
FIELD_SIZE_LIMIT = 10 * 1024 * 1024

_SNIFF_LINES = 50
_SNIFF_MAX_CHARS = 256 * 1024
_SNIFFER_MAX_CHARS = 8 * 1024
_DELIMITERS = (",", ";", "\t")
_DELIMITER_LABELS = {",": "comma", ";": "semicolon", "\t": "tab"}
_ENCODING_LABELS = {
    "utf-8-sig": "UTF-8 (with BOM)",
    "utf-8": "UTF-8",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1",
    "utf-16": "UTF-16 (Unicode Text)",
    "utf-16-le": "UTF-16 (Unicode Text)",
    "utf-16-be": "UTF-16 (Unicode Text)",
    "mac_roman": "Mac Roman",
}
#: What a person may choose instead of the guess ("" = let hrbatch guess), as spreadsheet
#: import dialogs offer. Values are Python codec names, stored with the run.
ENCODING_CHOICES = [
    ("", "Automatic"),
    ("utf-8", "UTF-8"),
    ("cp1252", "Windows-1252 (Excel on Windows)"),
    ("latin-1", "Latin-1 (ISO-8859-1)"),
    ("utf-16", "UTF-16 (Unicode Text)"),
    ("mac_roman", "Mac Roman (old Mac Excel)"),
]
# Menu path with U+203A separators, escaped to keep the source free of ambiguous characters.
_EXCEL_MENU = "File \u203a Save As \u203a 'CSV UTF-8 (Comma delimited)'"
_SAVE_AS = f"In Excel, choose {_EXCEL_MENU} and upload that file."
# ``surrogateescape`` turns each undecodable byte into a lone surrogate U+DC80..U+DCFF.
# Strict UTF-8 / cp1252 decoding can never produce those, so finding one in a record means
# that record contained bytes that are not valid in the detected encoding: each is counted
# (ReadStats) and replaced by U+FFFD, the rest of the record is kept as decoded.
_SURROGATE = re.compile("[\udc80-\udcff]")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_LOOKS_NUMERIC = re.compile(r"[+-]?[0-9][0-9.,]*", re.ASCII)
_LOOKS_DATE = re.compile(r"[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}", re.ASCII)
_LOOKS_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PLAIN_NUMBER = re.compile(
    r"[+-]?(?:[0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII
)
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


# --------------------------------------------------------------------------------------
# Public types
# --------------------------------------------------------------------------------------


class CsvProblem(Exception):
    """A file-level problem: the whole file cannot be used.

    ``message`` is a full sentence for a non-technical HR user naming the fix; ``row`` is
    the spreadsheet row number (header = row 1) or ``None``; ``code`` is one of
    ``empty_file``, ``header_only``, ``binary_file``, ``spreadsheet_file``, ``no_header``,
    ``duplicate_header``, ``bad_encoding``, ``no_such_column``, ``too_many_columns``.

    Picklable (all state is in ``args``), so it can cross process boundaries.
    """

    def __init__(self, message: str, code: str, row: int | None = None) -> None:
        super().__init__(message, code, row)
        self.message = message
        self.code = code
        self.row = row

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class CsvLayout:
    """What :func:`sniff` found out about a file.

    ``header_row`` is the spreadsheet row of the header: 1 unless the file starts with
    blank rows (which Excel also shows as rows).
    """

    encoding: str  # "utf-8-sig" | "utf-8" | "cp1252" | "latin-1" | "utf-16*"
    encoding_label: str  # "UTF-8 (with BOM)", "UTF-8", "Windows-1252", "Latin-1", ...
    delimiter: str  # "," ";" "\t"
    delimiter_label: str  # "comma", "semicolon", "tab"
    header: list[str]  # column names, stripped of surrounding whitespace
    header_row: int = 1


@dataclass(frozen=True)
class RowProblem:
    """A problem with a single record; the rest of the file is still usable.

    ``code`` is one of ``ragged_row``, ``empty_row`` (callers may treat it as a skippable
    warning), ``missing_id``, ``duplicate_id`` and ``field_too_long`` (a single value
    longer than :data:`FIELD_SIZE_LIMIT` characters, usually caused by an unclosed
    quotation mark). Bytes that cannot be decoded are not a row problem: they are replaced
    by U+FFFD and counted in :class:`ReadStats`.
    """

    row: int
    code: str
    message: str


@dataclass
class ReadStats:
    """What a streaming read could not decode: bytes invalid in the file's encoding, each
    shown as U+FFFD. Pass one to :func:`read_records` or :func:`count_records`."""

    unreadable_chars: int = 0
    unreadable_rows: int = 0
    first_rows: list[int] = field(default_factory=list)  # up to 10 row numbers

    def add(self, row: int, chars: int) -> None:
        self.unreadable_chars += chars
        self.unreadable_rows += 1
        if len(self.first_rows) < 10:
            self.first_rows.append(row)

    def message(self) -> str:
        """In plain words, or "" when everything could be read."""
        if not self.unreadable_chars:
            return ""
        chars, rows = self.unreadable_chars, self.unreadable_rows
        return (
            f"{chars} character{'s' if chars != 1 else ''} in {rows} row{'s' if rows != 1 else ''} "
            "could not be read and show as \ufffd."
        )


# --------------------------------------------------------------------------------------
# sniff
# --------------------------------------------------------------------------------------


def sniff(
    path: str | Path,
    *,
    sample_bytes: int = 1 << 20,
    encoding: str | None = None,
    max_columns: int | None = None,
) -> CsvLayout:
    """Detect encoding, delimiter and header of the CSV file at ``path``.

    ``encoding`` (a value of :data:`ENCODING_CHOICES`, or one :func:`sniff` returned)
    overrides the guess: a person chose it after looking at the preview.

    ``max_columns``: a header with more columns raises ``too_many_columns`` (read without
    holding more than that many values of it in memory).

    Only the first ``sample_bytes`` bytes are used for detecting encoding and delimiter;
    the header is then read from the file itself. If the whole file fits in the sample,
    a file without any data record raises ``header_only`` here already; for larger files
    :func:`read_records` / :func:`count_records` raise it when they reach the end.

    Raises :class:`CsvProblem`.
    """
    path = Path(path)
    forced = encoding or None
    if forced is not None and forced not in _ENCODING_LABELS:
        raise CsvProblem(
            f"hrbatch cannot read text saved as {forced!r}. Choose one of the encodings "
            "offered, or save the file as CSV UTF-8 and upload it again.",
            "bad_encoding",
        )
    encoding, text, whole = _sample(path, max(int(sample_bytes), 64), forced)
    default = "\t" if encoding.startswith("utf-16") else ","
    delimiter = _detect_delimiter(text, whole, default=default)
    layout = CsvLayout(
        encoding=encoding,
        encoding_label=_ENCODING_LABELS[encoding],
        delimiter=delimiter,
        delimiter_label=_DELIMITER_LABELS[delimiter],
        header=[],
    )
    header, row = _read_header(path, layout, max_columns=max_columns, whole=whole)
    return CsvLayout(
        encoding=layout.encoding,
        encoding_label=layout.encoding_label,
        delimiter=layout.delimiter,
        delimiter_label=layout.delimiter_label,
        header=header,
        header_row=row,
    )


def _sample(path: Path, sample_bytes: int, forced: str | None) -> tuple[str, str, bool]:
    """(encoding, the decoded text of the first `sample_bytes` bytes with text in them,
    whether that is the whole file): what the encoding and the delimiter are told from."""
    with path.open("rb") as f:
        raw = f.read(sample_bytes)
        whole = f.read(1) == b""
        if not raw:
            raise CsvProblem(
                "The file is empty. Please upload a CSV file with a header row and one row "
                "per candidate.",
                "empty_file",
            )
        _check_magic(raw)
        encoding, text = _decode_sample(raw, whole, forced)
        if text.strip("\ufeff \t\r\n\x0b\x0c"):
            return encoding, text, whole
        if whole:
            raise _blank_file_problem()
        if encoding.startswith("utf-16"):
            # Pathological; let the header search stream through it.
            return encoding, "", whole
        # A (huge) run of blank lines before the data: find the first chunk with text in
        # it and detect on that instead.
        while True:
            raw = f.read(sample_bytes)
            if not raw:
                raise _blank_file_problem()
            if raw.strip():
                break
        whole = f.read(1) == b""
        bom_encoding = encoding if encoding == "utf-8-sig" else None
        encoding, text = _decode_sample(raw, whole, forced)
        if bom_encoding and encoding == "utf-8":
            encoding = bom_encoding
        return encoding, text, whole


def _read_header(
    path: Path, layout: CsvLayout, *, max_columns: int | None, whole: bool
) -> tuple[list[str], int]:
    """(the column names, the row they are on): the first row that is not blank. When the
    sample was the `whole` file, a file with no data row after it is refused here."""
    _ensure_field_size_limit()
    with _open_text(path, layout) as f:
        record = _Record()
        limit = max_columns + 1 if max_columns else None
        reader = csv.reader(
            _bounded(f, layout.delimiter, limit, record),
            delimiter=layout.delimiter,
            strict=False,
        )
        row = 0
        header_raw: list[str] | None = None
        try:
            for rec in reader:
                row += 1
                if rec and not _is_blank("".join(rec)):
                    header_raw = rec
                    break
                record.reset()
        except csv.Error:
            raise CsvProblem(
                f"Row {row + 1} should contain the column names, but it is far too long to be "
                "a header row. Check that the file is a CSV file and that every quotation "
                'mark (") in the first row is closed.',
                "no_header",
                row + 1,
            ) from None
        except UnicodeDecodeError:
            raise _file_encoding_problem(layout, row + 1) from None
        if header_raw is None:
            raise _blank_file_problem()
        if max_columns and len(header_raw) > max_columns:
            raise _too_many_columns_problem(record.values or len(header_raw), max_columns, row)
        record.reset()
        header = _clean_header(header_raw, row, layout)
        if whole and not _has_data(reader, record):
            raise _header_only_problem(row)
    return header, row


def _has_data(reader: Iterator[list[str]], record: _Record) -> bool:
    """Whether a row that is not blank follows (anything unreadable counts: read_records
    will report it)."""
    try:
        for rec in reader:
            if rec and not _is_blank("".join(rec)):
                return True
            record.reset()
    except (csv.Error, UnicodeDecodeError):
        return True
    return False


def _check_magic(raw: bytes) -> None:
    if raw.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise CsvProblem(
            f"This looks like an Excel workbook (.xlsx), not a CSV file. {_SAVE_AS}",
            "spreadsheet_file",
        )
    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise CsvProblem(
            f"This looks like an older Excel workbook (.xls), not a CSV file. {_SAVE_AS}",
            "spreadsheet_file",
        )
    if raw.startswith(b"%PDF"):
        raise CsvProblem(
            "This looks like a PDF document, not a CSV file. Export the candidate list from "
            f"your spreadsheet or HR system as CSV (in Excel: {_EXCEL_MENU}) and upload that "
            "file.",
            "binary_file",
        )
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise CsvProblem(
            f"This file is saved as UTF-32 text, which is not supported. {_SAVE_AS}",
            "bad_encoding",
        )


def _binary_problem() -> CsvProblem:
    return CsvProblem(
        "This file does not look like a CSV text file (it contains binary data). Export the "
        f"candidate list as CSV (in Excel: {_EXCEL_MENU}) and upload that file.",
        "binary_file",
    )


def _blank_file_problem() -> CsvProblem:
    return CsvProblem(
        "The file contains no data, only blank lines or empty cells. Please upload a CSV file "
        "with a header row and one row per candidate.",
        "empty_file",
    )


def _too_many_columns_problem(columns: int, max_columns: int, header_row: int) -> CsvProblem:
    return CsvProblem(
        f"This file has {columns:,} columns; hrbatch reads files of at most {max_columns:,} "
        "columns. Keep only the columns about the candidates and their jobs (delete the "
        "others in your spreadsheet), save it as CSV and upload it again.",
        "too_many_columns",
        header_row,
    )


def _header_only_problem(header_row: int) -> CsvProblem:
    return CsvProblem(
        "The file has a header row but no candidates. Add one row per candidate below the "
        "header row and upload the file again.",
        "header_only",
        header_row,
    )


def _file_encoding_problem(layout: CsvLayout, row: int) -> CsvProblem:
    return CsvProblem(
        f"Row {row} contains characters that could not be read as {_plain_label(layout)} "
        f"text, so the file cannot be read. {_SAVE_AS}",
        "bad_encoding",
        row,
    )


def _plain_label(layout: CsvLayout) -> str:
    return layout.encoding_label.replace(" (with BOM)", "")


def _incremental_decode(encoding: str, raw: bytes, final: bool, errors: str = "strict") -> str:
    # An incremental decoder with final=False silently keeps a multi-byte character that
    # the sample cut in half instead of reporting it as an error.
    return codecs.getincrementaldecoder(encoding)(errors).decode(raw, final=final)


def _decode_sample(raw: bytes, whole: bool, forced: str | None) -> tuple[str, str]:
    """(encoding, decoded sample without BOM): the chosen encoding, else the guess."""
    if forced is None:
        return _detect_encoding(raw, whole)
    if forced in ("utf-8", "utf-8-sig"):
        if raw.startswith(codecs.BOM_UTF8):
            return "utf-8-sig", _incremental_decode("utf-8", raw[3:], whole, "surrogateescape")
        return "utf-8", _incremental_decode("utf-8", raw, whole, "surrogateescape")
    if forced == "utf-16" and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        forced = _guess_bomless_utf16(raw) or "utf-16-le"
    errors = "strict" if forced.startswith("utf-16") else "surrogateescape"
    try:
        return forced, _incremental_decode(forced, raw, whole, errors)
    except UnicodeDecodeError:
        raise CsvProblem(
            f"This file cannot be read as {_ENCODING_LABELS[forced]} text. Choose "
            "'Automatic' or another encoding.",
            "bad_encoding",
        ) from None


# A Windows-1252 file only forms a valid UTF-8 multi-byte sequence by accident (a capital
# accented letter followed by a symbol such as "Ã©"): valid ones are strong evidence of
# UTF-8, damaged bytes among them are a tool's edits. One valid character per this many
# invalid bytes is enough to read the file as UTF-8.
_INVALID_PER_VALID_UTF8 = 10


def _detect_encoding(raw: bytes, whole: bool) -> tuple[str, str]:
    """Return (encoding, decoded sample without BOM). Raises binary/encoding problems.

    Undecodable bytes in a file that is nevertheless UTF-8 -- it has a UTF-8 BOM, or valid
    UTF-8 multi-byte characters (at least one per ten invalid bytes) -- do not switch the
    whole file to Windows-1252 or Latin-1 (which would silently garble every valid accented
    letter, "ñ" becoming "Ã±"): the file is read as UTF-8 and only the invalid bytes are
    replaced (U+FFFD) and counted (:class:`ReadStats`).
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return "utf-16", _incremental_decode("utf-16", raw, whole)
        except UnicodeDecodeError:
            raise CsvProblem(
                f"This file is saved as Unicode (UTF-16) text but parts of it cannot be read. "
                f"{_SAVE_AS}",
                "bad_encoding",
            ) from None
    if b"\x00" in raw:
        guessed = _guess_bomless_utf16(raw)
        if guessed is None:
            raise _binary_problem()
        try:
            return guessed, _incremental_decode(guessed, raw, whole)
        except UnicodeDecodeError:
            raise _binary_problem() from None
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", _incremental_decode("utf-8", raw[3:], whole, "surrogateescape")
    try:
        return "utf-8", _incremental_decode("utf-8", raw, whole)
    except UnicodeDecodeError:
        pass
    text = _incremental_decode("utf-8", raw, whole, "surrogateescape")
    invalid = len(_SURROGATE.findall(text))
    valid_multibyte = sum(not c.isascii() for c in text) - invalid
    if valid_multibyte and valid_multibyte * _INVALID_PER_VALID_UTF8 >= invalid:
        return "utf-8", text
    try:
        return "cp1252", raw.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1", raw.decode("latin-1")


def _guess_bomless_utf16(raw: bytes) -> str | None:
    """Mostly-ASCII UTF-16 without BOM has a NUL in every other byte."""
    even, odd = raw[0::2], raw[1::2]
    if len(odd) < 8:
        return None
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _sniff_snippet(text: str, whole: bool) -> tuple[str, bool]:
    """First ~50 physical lines of the sample; also whether records may be cut off."""
    truncated = not whole
    if truncated:
        # Drop the (probably incomplete) last line of the sample.
        last = max(text.rfind("\n"), text.rfind("\r"))
        if last >= 0:
            text = text[: last + 1]
    for count, m in enumerate(_NEWLINE.finditer(text), start=1):
        if count >= _SNIFF_LINES or m.end() >= _SNIFF_MAX_CHARS:
            if m.end() < len(text):
                text = text[: m.end()]
                truncated = True
            break
    else:
        if len(text) > _SNIFF_MAX_CHARS:  # very long lines
            text = text[:_SNIFF_MAX_CHARS]
            truncated = True
    return text, truncated


def _score(snippet: str, delimiter: str, truncated: bool) -> tuple[float, int]:
    """(share of data records as wide as the header, header width) for one delimiter."""
    reader = csv.reader(io.StringIO(snippet, newline=""), delimiter=delimiter, strict=False)
    try:
        records = [r for r in reader if r and not _is_blank("".join(r))]
    except csv.Error:
        return 0.0, 0
    if truncated and len(records) > 2:
        records.pop()  # may be cut in the middle
    if not records:
        return 0.0, 0
    width = len(records[0])
    rows = records[1:]
    if not rows:
        return 1.0, width
    return sum(len(r) == width for r in rows) / len(rows), width


def _detect_delimiter(text: str, whole: bool, default: str = ",") -> str:
    snippet, truncated = _sniff_snippet(text.lstrip("\ufeff"), whole)
    if not snippet.strip():
        return default
    scores = {d: _score(snippet, d, truncated) for d in _DELIMITERS}
    plausible = {d: s for d, s in scores.items() if s[1] > 1}
    if not plausible:
        return default  # a one-column file
    best = max(s[0] for s in plausible.values())
    # Among the delimiters that split the sample (nearly) as consistently as the best one,
    # take the one giving the header most columns (= occurring most in the header outside
    # quotes). Widest-first matters for e.g. a semicolon file whose header has one comma
    # ("Salary (k€, gross)") and whose rows have one decimal comma: splitting on commas is
    # just as consistent, but narrower.
    top = [d for d, s in plausible.items() if s[0] >= best - 0.02]
    widest = max(plausible[d][1] for d in top)
    top = [d for d in top if plausible[d][1] == widest]
    if len(top) > 1:
        # Genuine tie: let csv.Sniffer decide. Its regexes are super-linear on long text
        # (seconds at 64 KB), so it only ever sees the first few KB.
        try:
            sniffed = csv.Sniffer().sniff(snippet[:_SNIFFER_MAX_CHARS], "".join(top)).delimiter
        except csv.Error:
            sniffed = None
        if sniffed in top:
            return sniffed
    return top[0]  # dict order: , ; tab


def _looks_like_data(cell: str) -> bool:
    return bool(
        _LOOKS_NUMERIC.fullmatch(cell)
        or _LOOKS_DATE.fullmatch(cell)
        or _LOOKS_EMAIL.fullmatch(cell)
    )


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def _clean_header(raw: list[str], header_row: int, layout: CsvLayout) -> list[str]:
    names = [v.strip().lstrip("\ufeff").strip() for v in raw]
    if _SURROGATE.search("".join(names)):
        raise _file_encoding_problem(layout, header_row)
    named = [n for n in names if n]
    if any(_LOOKS_EMAIL.fullmatch(n) for n in named) or all(_looks_like_data(n) for n in named):
        raise CsvProblem(
            f"Row {header_row} looks like candidate data, not column names. Insert a header "
            f"row above it with a name for each column (for example 'id', 'name', 'email') "
            f"and upload the file again.",
            "no_header",
            header_row,
        )
    positions: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        if n:
            positions.setdefault(n, []).append(i)
    dups = {n: idx for n, idx in positions.items() if len(idx) > 1}
    if dups:
        parts = []
        for n, idx in dups.items():
            cols = [_column_letter(i) for i in idx]
            parts.append(f"'{n}' (columns {', '.join(cols[:-1])} and {cols[-1]})")
        raise CsvProblem(
            f"The header row has more than one column with the same name: {'; '.join(parts)}. "
            f"Give each column in row {header_row} a unique name and upload the file again.",
            "duplicate_header",
            header_row,
        )
    taken = set(positions)
    for i, n in enumerate(names):
        if not n:
            candidate = f"column_{i + 1}"
            while candidate in taken:
                candidate += "_"
            names[i] = candidate
            taken.add(candidate)
    return names


# --------------------------------------------------------------------------------------
# Streaming readers
# --------------------------------------------------------------------------------------


def _ensure_field_size_limit() -> None:
    if csv.field_size_limit() < FIELD_SIZE_LIMIT:
        csv.field_size_limit(FIELD_SIZE_LIMIT)


class _Record:
    """What :func:`_bounded` saw of the record :mod:`csv` is reading; reset after each one."""

    __slots__ = ("cut", "delimiters", "exact", "in_quotes", "lines", "values")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.lines: list[str] = []  # its lines so far, until counted exactly
        self.delimiters = 0  # on those lines, quoted ones included (an upper bound)
        self.exact: int | None = None  # delimiters outside quotes, once counted
        self.in_quotes = False  # at the end of the lines counted exactly
        self.values = 0  # how many values the record had, when it was cut short
        self.cut = False  # whether what was cut off held anything but blanks


def _bounded(
    lines: Iterator[str], delimiter: str, limit: int | None, record: _Record
) -> Iterator[str]:
    """The file's lines for :func:`csv.reader`, each record cut after ``limit`` values.

    :mod:`csv` builds a whole record as a list before anyone can look at it: one line of
    3,000,000 separators is 3,000,000 strings in memory (hundreds of MB). A record is cut
    at its ``limit``-th separator outside quotes, the rest of that line dropped, and
    ``record`` says how many values it had (``values``) and whether the part dropped held
    anything but blanks (``cut``). Counting a line's separators is done in C; the
    separators inside quotes are told apart (by the quotation marks before them, as a
    well-formed file has them) only for a record that has more than ``limit`` in all.
    """
    if limit is None:
        yield from lines
        return
    for line in lines:
        if record.values:
            # Cut already, yet the record goes on (its quotation marks are not as in a
            # well-formed file): no separator of it is read any more.
            yield line.replace(delimiter, " ")
            continue
        count = line.count(delimiter)
        if record.exact is None:
            if record.delimiters + count < limit:
                record.delimiters += count
                record.lines.append(line)
                yield line
                continue
            record.exact = 0
            for earlier in record.lines:
                found, _, record.in_quotes = _unquoted(earlier, delimiter, record.in_quotes)
                record.exact += found
            record.lines = []
        allowed = limit - 1 - record.exact
        found, at, in_quotes = _unquoted(line, delimiter, record.in_quotes, allowed)
        if at < 0:
            record.exact += found
            record.in_quotes = in_quotes
            yield line
            continue
        record.values = record.exact + found + 1
        record.cut = bool(line[at:].strip(f"{delimiter} \t\r\n"))
        yield line[:at] + "\n"


def _unquoted(
    text: str, delimiter: str, in_quotes: bool, allowed: int | None = None
) -> tuple[int, int, bool]:
    """(separators outside quotes in ``text``, the index of the first one past ``allowed``
    or -1, whether ``text`` ends inside quotes), starting ``in_quotes`` or not."""
    count, at, offset = 0, -1, 0
    for part in text.split('"'):
        if not in_quotes:
            found = part.count(delimiter)
            if at < 0 and allowed is not None and count + found > allowed:
                index = -1
                for _ in range(allowed - count + 1):
                    index = part.index(delimiter, index + 1)
                at = offset + index
            count += found
        offset += len(part) + 1
        in_quotes = not in_quotes
    return count, at, not in_quotes  # toggled once more than there are quotation marks


def _row_limit(layout: CsvLayout) -> int:
    """The values of a data record kept in memory: twice the header's and some, so that a
    ragged row is still handed back whole unless it is absurd."""
    return 2 * len(layout.header) + 100


def _open_text(path: str | Path, layout: CsvLayout, errors: str = "surrogateescape"):
    if layout.encoding.startswith("utf-16") and errors == "surrogateescape":
        errors = "strict"  # surrogateescape cannot represent broken UTF-16
    return open(path, encoding=layout.encoding, errors=errors, newline="")


def _is_blank(joined: str) -> bool:
    return not joined or joined.isspace()


def _skip_header(reader: Iterator[list[str]], layout: CsvLayout) -> None:
    for _ in range(layout.header_row):
        try:
            next(reader)
        except StopIteration:
            raise _blank_file_problem() from None


def _resolve_column(header: list[str], column: str) -> int:
    # Exact match only (callers index the header with the same string); anything else
    # raises, with a suggestion when a unique near match exists.
    if column in header:
        return header.index(column)
    wanted = column

    def norm(s: str) -> str:
        return re.sub(r"[\s_\-]+", "", s.casefold())

    near = [h for h in header if norm(h) == norm(wanted)]
    shown = ", ".join(f"'{h}'" for h in header[:30])
    if len(header) > 30:
        shown += f" and {len(header) - 30} more"
    hint = f" Did you mean '{near[0]}'?" if len(near) == 1 else ""
    raise CsvProblem(
        f"The file has no column named '{wanted}'.{hint} The columns in the file are: "
        f"{shown}. Choose one of these columns, or rename the column in the file.",
        "no_such_column",
        None,
    )


def read_records(
    path: str | Path,
    layout: CsvLayout,
    *,
    id_column: str | None = None,
    stats: ReadStats | None = None,
) -> Iterator[tuple[int, list[str] | None, RowProblem | None]]:
    """Stream the data records of the file.

    Yields ``(row, values, None)`` for a good record (``values`` has exactly one entry per
    header column, kept as-is except that a trailing ``'\\r'`` is removed) or
    ``(row, raw, problem)`` for a bad one, ``raw`` being the record's values as read
    (any length; None for empty rows and unreadable values), so that callers can hand the
    rejected rows back. ``row`` is the spreadsheet row number.

    * Completely empty records (blank lines, or only empty/whitespace cells) yield an
      ``empty_row`` problem; callers may treat these as skippable warnings.
    * A record with fewer values than the header, or with extra non-empty values, yields
      ``ragged_row``. Extra *empty* trailing values (``a,b,c,,``) are dropped silently.
    * Bytes that are invalid in the file's encoding are replaced by U+FFFD (one per byte)
      and counted in ``stats``; the record is otherwise good. (For UTF-16 files the decoder
      cannot resynchronise, so a :class:`CsvProblem` ``bad_encoding`` is raised.)
    * A value longer than :data:`FIELD_SIZE_LIMIT` yields ``field_too_long``; reading
      continues on the next physical line (if the long value spanned several lines, e.g.
      because of an unclosed quote, later row numbers may be off).
    * With ``id_column``: raises ``CsvProblem(code="no_such_column")`` immediately (not on
      first iteration) if the column does not exist, and yields ``missing_id`` /
      ``duplicate_id`` problems. IDs are compared after stripping surrounding whitespace,
      case-sensitively; the first occurrence is good, later ones are problems.

    At the end of the file, raises ``CsvProblem(code="header_only")`` if there was not a
    single non-empty data record. The file stays open until the iterator is exhausted or
    closed.
    """
    id_index = None if id_column is None else _resolve_column(layout.header, id_column)
    _ensure_field_size_limit()
    return _iter_records(path, layout, id_index, stats if stats is not None else ReadStats())


def _replace_unreadable(rec: list[str]) -> tuple[list[str], int]:
    """The record with each undecodable byte (a lone surrogate) as U+FFFD, and how many."""
    count = 0
    out = []
    for value in rec:
        value, n = _SURROGATE.subn("\ufffd", value)
        out.append(value)
        count += n
    return out, count


def _iter_records(
    path: str | Path, layout: CsvLayout, id_index: int | None, stats: ReadStats
) -> Iterator[tuple[int, list[str] | None, RowProblem | None]]:
    width = len(layout.header)
    ids = _IdCheck(layout.header[id_index] if id_index is not None else "")
    check_encoding = not layout.encoding.startswith("utf-16")
    data_records = 0
    surrogate = _SURROGATE.search
    record = _Record()
    with _open_text(path, layout) as f:
        lines = _bounded(f, layout.delimiter, _row_limit(layout), record)
        reader = csv.reader(lines, delimiter=layout.delimiter, strict=False)
        _skip_header(reader, layout)
        record.reset()
        row = layout.header_row
        prev_line = reader.line_num
        while True:
            try:
                for rec in reader:
                    row += 1
                    # How many values the record had, if more than were read.
                    had = record.values if record.cut else 0
                    record.reset()
                    if not rec:
                        prev_line = reader.line_num
                        yield row, None, _empty_row(row)
                        continue
                    joined = "".join(rec)
                    if check_encoding and not joined.isascii() and surrogate(joined):
                        rec, unreadable = _replace_unreadable(rec)
                        stats.add(row, unreadable)
                    if not joined or joined.isspace():
                        prev_line = reader.line_num
                        yield row, None, _empty_row(row)
                        continue
                    data_records += 1
                    n = had or len(rec)
                    if n != width:
                        if not had and n > width and _is_blank("".join(rec[width:])):
                            del rec[width:]
                        else:
                            span = reader.line_num - prev_line
                            prev_line = reader.line_num
                            yield row, rec, _ragged_row(row, n, width, span, layout)
                            continue
                    prev_line = reader.line_num
                    last = rec[-1]
                    if last.endswith("\r"):
                        rec[-1] = last[:-1]
                    if id_index is not None:
                        yield row, rec, ids.problem(row, rec[id_index].strip())
                    else:
                        yield row, rec, None
                break
            except csv.Error:
                record.reset()
                row += 1
                data_records += 1
                prev_line = reader.line_num
                yield row, None, _field_too_long(row)
            except UnicodeDecodeError:
                raise _file_encoding_problem(layout, row + 1) from None
    if data_records == 0:
        raise _header_only_problem(layout.header_row)


class _IdCheck:
    """Each candidate's ID, checked as the rows come: there, and used once."""

    def __init__(self, id_name: str):
        self.id_name = id_name
        self.seen: dict[str, int] = {}

    def problem(self, row: int, key: str) -> RowProblem | None:
        if not key:
            return RowProblem(
                row,
                "missing_id",
                f"Row {row} has no value in the ID column '{self.id_name}'. "
                "Each candidate needs a unique ID.",
            )
        first = self.seen.setdefault(key, row)
        if first != row:
            return RowProblem(
                row,
                "duplicate_id",
                f"Row {row} has the same ID '{key}' as row {first}. "
                "Each candidate needs a unique ID.",
            )
        return None


def _field_too_long(row: int) -> RowProblem:
    return RowProblem(
        row,
        "field_too_long",
        f"Row {row} contains a value longer than {FIELD_SIZE_LIMIT // 1_000_000} "
        'million characters, which usually means a quotation mark (") is '
        "missing. Check the quotation marks on that row and upload the file "
        "again.",
    )


def _empty_row(row: int) -> RowProblem:
    return RowProblem(row, "empty_row", f"Row {row} is empty and will be skipped.")


def _ragged_row(row: int, n: int, width: int, span: int, layout: CsvLayout) -> RowProblem:
    message = (
        f"Row {row} has {n:,} value{'' if n == 1 else 's'} but the header has {width:,} "
        f"column{'' if width == 1 else 's'}. Check for a missing or extra separator "
        f"({layout.delimiter_label}) on that row."
    )
    if span > 1:
        message += (
            f' The row runs over {span} lines of the file, so a quotation mark (") may also '
            "be missing or extra."
        )
    return RowProblem(row, "ragged_row", message)


def count_records(path: str | Path, layout: CsvLayout, *, stats: ReadStats | None = None) -> int:
    """Count the non-empty data records (quoted line breaks handled), streaming.

    This is the number of tuples :func:`read_records` yields minus its ``empty_row``
    problems, so it suits a progress bar. With ``stats``, also counts the characters that
    could not be read, as :func:`read_records` does. Raises
    ``CsvProblem(code="header_only")`` if it is zero.
    """
    _ensure_field_size_limit()
    n = 0
    row = layout.header_row  # spreadsheet row, as read_records numbers them
    check = stats is not None and not layout.encoding.startswith("utf-16")
    record = _Record()
    with _open_text(path, layout) as f:
        lines = _bounded(f, layout.delimiter, _row_limit(layout), record)
        reader = csv.reader(lines, delimiter=layout.delimiter, strict=False)
        _skip_header(reader, layout)
        record.reset()
        while True:
            try:
                for rec in reader:
                    record.reset()
                    row += 1
                    if rec:
                        joined = "".join(rec)
                        if joined and not joined.isspace():
                            n += 1
                            if check and not joined.isascii() and _SURROGATE.search(joined):
                                stats.add(row, len(_SURROGATE.findall(joined)))  # type: ignore[union-attr]
                break
            except csv.Error:
                record.reset()
                n += 1
                row += 1
            except UnicodeDecodeError:
                raise _file_encoding_problem(layout, layout.header_row + n + 1) from None
    if n == 0:
        raise _header_only_problem(layout.header_row)
    return n


def preview(
    path: str | Path,
    layout: CsvLayout,
    n: int = 20,
    *,
    columns: int | None = None,
    chars: int | None = None,
) -> list[list[str]]:
    """The first ``n`` non-empty data records (header not included), for display.

    Values are as in :func:`read_records`, but records are returned as they are (a ragged
    record keeps its own length, up to ``columns`` values when given); undecodable bytes
    show as U+FFFD, one per byte as in :func:`read_records`. A value longer than ``chars``
    is cut to that many characters, the last one "…". Records with an overlong value are
    skipped. Never raises ``header_only`` (returns ``[]``).
    """
    out: list[list[str]] = []
    if n <= 0:
        return out
    _ensure_field_size_limit()
    errors = "replace" if layout.encoding.startswith("utf-16") else "surrogateescape"
    record = _Record()
    limit = _row_limit(layout) if columns is None else max(columns, 1) + 1
    with _open_text(path, layout, errors=errors) as f:
        lines = _bounded(f, layout.delimiter, limit, record)
        reader = csv.reader(lines, delimiter=layout.delimiter, strict=False)
        _skip_header(reader, layout)
        while len(out) < n:
            record.reset()
            try:
                rec = next(reader)
            except StopIteration:
                break
            except csv.Error:
                continue
            if rec and not _is_blank("".join(rec)):
                if rec[-1].endswith("\r"):
                    rec[-1] = rec[-1][:-1]
                if columns is not None:
                    del rec[columns:]
                if chars is not None:
                    rec = [v if len(v) <= chars else v[: chars - 1] + "\u2026" for v in rec]
                out.append(_replace_unreadable(rec)[0])
    return out


# --------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------


def neutralize_cell(value: str) -> str:
    """Defuse spreadsheet formula injection in a cell of an *exported* CSV.

    If the value starts with one of the OWASP trigger characters ``=``, ``+``, ``-``,
    ``@``, tab or carriage return, a single quote ``'`` is prefixed so spreadsheet programs
    treat it as text.

    Documented exception: a value that is a *plain number* is left unchanged, so that
    scores and amounts such as ``-5``, ``+3.2``, ``-1,234.5`` or ``-2e3`` stay numeric in
    Excel. "Plain number" means an optional sign followed only by ASCII digits, ``,`` and
    ``.`` (and an optional exponent); such a string cannot contain a formula. Anything else
    that starts with a trigger is escaped, including phone numbers like ``+1 555 0100``,
    ``-inf`` and ``-2+3``. Values not starting with a trigger (including ``""``) are
    returned unchanged. Use the result with :mod:`csv` writer quoting as usual.
    """
    if value.startswith(_FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value
