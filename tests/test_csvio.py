"""Tests for evaluations.csvio (pure Python, no database)."""

from __future__ import annotations

import pickle
import random
import time
import tracemalloc
from pathlib import Path

import pytest

from evaluations.csvio import (
    ENCODING_CHOICES,
    FIELD_SIZE_LIMIT,
    CsvLayout,
    CsvProblem,
    ReadStats,
    count_records,
    neutralize_cell,
    preview,
    read_records,
    sniff,
)
from tests.support.files import (
    DAMAGED_CHARS,
    DAMAGED_ROWS,
    VALID_UTF8,
    damaged_resume_csv,
)


def write(tmp_path: Path, data: bytes, name: str = "upload.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def good_rows(path: Path, layout: CsvLayout, **kw) -> list[tuple[int, list[str]]]:
    return [(row, vals) for row, vals, prob in read_records(path, layout, **kw) if prob is None]


def problems(path: Path, layout: CsvLayout, **kw) -> list:
    return [prob for _, _, prob in read_records(path, layout, **kw) if prob is not None]


# --------------------------------------------------------------------------------------
# Good files
# --------------------------------------------------------------------------------------


def test_utf8_comma(tmp_path):
    path = write(tmp_path, "id,name,city\nC1,José,Zürich\nC2,Łukasz,Kraków\n".encode())
    layout = sniff(path)
    assert (layout.encoding, layout.encoding_label) == ("utf-8", "UTF-8")
    assert (layout.delimiter, layout.delimiter_label) == (",", "comma")
    assert layout.header == ["id", "name", "city"]
    assert layout.header_row == 1
    assert good_rows(path, layout, id_column="id") == [
        (2, ["C1", "José", "Zürich"]),
        (3, ["C2", "Łukasz", "Kraków"]),
    ]
    assert count_records(path, layout) == 2


def test_utf8_bom_not_in_first_column(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfid,name\r\nC1,Ren\xc3\xa9e\r\n")
    layout = sniff(path)
    assert (layout.encoding, layout.encoding_label) == ("utf-8-sig", "UTF-8 (with BOM)")
    assert layout.header == ["id", "name"]
    assert good_rows(path, layout, id_column="id") == [(2, ["C1", "Renée"])]


def test_cp1252(tmp_path):
    data = "id;name;note\n1;Müller;café 5€\n2;Señor;\u201cquoted\u201d \u2013 dash\n".encode(
        "cp1252"
    )
    assert b"\x80" in data  # the euro sign
    path = write(tmp_path, data)
    layout = sniff(path)
    assert (layout.encoding, layout.encoding_label) == ("cp1252", "Windows-1252")
    assert layout.delimiter == ";"
    assert good_rows(path, layout) == [
        (2, ["1", "Müller", "café 5€"]),
        (3, ["2", "Señor", "\u201cquoted\u201d \u2013 dash"]),
    ]


def test_latin1_only_bytes(tmp_path):
    # 0x81 is undefined in cp1252, so only latin-1 can decode this.
    path = write(tmp_path, b"id,name\n1,M\xfcller\x81\n")
    layout = sniff(path)
    assert (layout.encoding, layout.encoding_label) == ("latin-1", "Latin-1")
    assert good_rows(path, layout) == [(2, ["1", "Müller\x81"])]


def test_semicolon_with_decimal_commas(tmp_path):
    lines = ["id;name;score;salary"]
    lines += [f"C{i};Name {i};{i % 9},5;{i}.000,{i % 100:02d}" for i in range(30)]
    path = write(tmp_path, ("\r\n".join(lines) + "\r\n").encode("cp1252"))
    layout = sniff(path)
    assert (layout.delimiter, layout.delimiter_label) == (";", "semicolon")
    assert layout.header == ["id", "name", "score", "salary"]
    rows = good_rows(path, layout, id_column="id")
    assert rows[0] == (2, ["C0", "Name 0", "0,5", "0.000,00"])
    assert len(rows) == 30


def test_semicolon_header_with_comma_in_name(tmp_path):
    data = "id;Salary (k€, gross);score\nC1;55;3,5\nC2;60;4,0\n".encode()
    layout = sniff(write(tmp_path, data))
    assert layout.delimiter == ";"
    assert layout.header == ["id", "Salary (k€, gross)", "score"]


def test_comma_with_semicolons_in_quoted_notes(tmp_path):
    lines = ["id,name,cover_note"]
    for i in range(40):
        note = "Skills; Python; SQL; Excel; teamwork; travel; German; French; more; stuff"
        lines.append(f'C{i},"Doe; Jane",{note!r}'.replace("'", '"'))
    path = write(tmp_path, ("\n".join(lines) + "\n").encode())
    layout = sniff(path)
    assert layout.delimiter == ","
    rows = good_rows(path, layout)
    assert rows[0][1][1] == "Doe; Jane"
    assert rows[0][1][2].count(";") == 9


def test_tab(tmp_path):
    path = write(tmp_path, b"id\tname\tnote\nC1\tAnna\ta, b, c\nC2\tBen\t1,5\n")
    layout = sniff(path)
    assert (layout.delimiter, layout.delimiter_label) == ("\t", "tab")
    assert good_rows(path, layout) == [(2, ["C1", "Anna", "a, b, c"]), (3, ["C2", "Ben", "1,5"])]


def test_quoted_newlines_and_delimiters_crlf(tmp_path):
    data = (
        b"id,name,note\r\n"
        b'C1,"Smith, John","line one\r\nline two, with comma\r\nline three"\r\n'
        b'C2,Anna,"She said ""hi"""\r\n'
        b"C3,Ben,plain\r\n"
    )
    path = write(tmp_path, data)
    layout = sniff(path)
    assert layout.delimiter == ","
    assert good_rows(path, layout, id_column="id") == [
        (2, ["C1", "Smith, John", "line one\r\nline two, with comma\r\nline three"]),
        (3, ["C2", "Anna", 'She said "hi"']),
        (4, ["C3", "Ben", "plain"]),
    ]
    assert count_records(path, layout) == 3


def test_trailing_whitespace_row(tmp_path):
    path = write(tmp_path, b" id , name ,note \r\nC1, Anna  ,x   \r\nC2,Ben,y\t\r\n")
    layout = sniff(path)
    assert layout.header == ["id", "name", "note"]  # header names are stripped, values not
    assert good_rows(path, layout, id_column="id") == [
        (2, ["C1", " Anna  ", "x   "]),
        (3, ["C2", "Ben", "y\t"]),
    ]


def test_mac_cr_line_endings(tmp_path):
    path = write(tmp_path, b"id,name\rC1,Anna\rC2,Ben\r")
    layout = sniff(path)
    assert good_rows(path, layout) == [(2, ["C1", "Anna"]), (3, ["C2", "Ben"])]


def test_utf16_unicode_text(tmp_path):
    data = "id\tname\r\nC1\tZoë\r\nC2\t山田\r\n".encode("utf-16")  # with BOM, like Excel
    path = write(tmp_path, data)
    layout = sniff(path)
    assert layout.encoding == "utf-16"
    assert layout.delimiter == "\t"
    assert layout.header == ["id", "name"]
    assert good_rows(path, layout, id_column="id") == [(2, ["C1", "Zoë"]), (3, ["C2", "山田"])]


def test_sample_cuts_multibyte_character(tmp_path):
    head = b"id,name\n" + b"C1," + b"a" * 50
    data = head + "é\n".encode() + b"C2,b\n" * 20
    path = write(tmp_path, data)
    # The sample ends in the middle of the two-byte "é": still UTF-8.
    layout = sniff(path, sample_bytes=len(head) + 1)
    assert layout.encoding == "utf-8"
    assert count_records(path, layout) == 21


def test_leading_blank_rows_shift_row_numbers(tmp_path):
    path = write(tmp_path, b",,\n\nid,name,x\nC1,Anna,1\n")
    layout = sniff(path)
    assert layout.header_row == 3
    assert good_rows(path, layout) == [(4, ["C1", "Anna", "1"])]


def test_empty_header_names_and_trailing_empty_values(tmp_path):
    path = write(tmp_path, b"id,,name\nC1,x,Anna,,\nC2,y,Ben\n")
    layout = sniff(path)
    assert layout.header == ["id", "column_2", "name"]
    assert good_rows(path, layout) == [(2, ["C1", "x", "Anna"]), (3, ["C2", "y", "Ben"])]


def test_one_column_file(tmp_path):
    layout = sniff(write(tmp_path, b"id\nC1\nC2\n"))
    assert (layout.delimiter, layout.header) == (",", ["id"])


def test_empty_rows_are_warnings(tmp_path):
    path = write(tmp_path, b"id,name\nC1,Anna\n\n , \nC2,Ben\n")
    layout = sniff(path)
    got = list(read_records(path, layout, id_column="id"))
    assert [(r, p.code if p else None) for r, _, p in got] == [
        (2, None),
        (3, "empty_row"),
        (4, "empty_row"),
        (5, None),
    ]
    assert "Row 3 is empty" in got[1][2].message
    assert count_records(path, layout) == 2


def test_preview(tmp_path):
    body = b"".join(b"C%d,Name %d\n" % (i, i) for i in range(50))
    path = write(tmp_path, b"id,name\n\n" + body)
    layout = sniff(path)
    assert preview(path, layout, n=3) == [["C0", "Name 0"], ["C1", "Name 1"], ["C2", "Name 2"]]
    assert len(preview(path, layout)) == 20


# --------------------------------------------------------------------------------------
# Bad files (file-level problems)
# --------------------------------------------------------------------------------------

XLSX = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)) * 4
XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
RANDOM_BINARY = random.Random(1).randbytes(4000) + b"\x00\x00\x00"


@pytest.mark.parametrize(
    ("data", "code", "phrase", "row"),
    [
        (b"", "empty_file", "The file is empty", None),
        (b"  \r\n\n\t \n", "empty_file", "no data", None),
        (b"\xef\xbb\xbf\r\n", "empty_file", "no data", None),
        (b",,,\n,,,\n", "empty_file", "no data", None),
        (b"id,name,email\r\n", "header_only", "header row but no candidates", 1),
        (b"id,name,email\n\n,,\n", "header_only", "header row but no candidates", 1),
        (XLSX, "spreadsheet_file", "Excel workbook (.xlsx)", None),
        (XLS, "spreadsheet_file", "Excel workbook (.xls)", None),
        (PDF, "binary_file", "PDF document", None),
        (RANDOM_BINARY, "binary_file", "binary data", None),
        (b"id,name,Email,email,Email\n1,a,b,c,d\n", "duplicate_header", "'Email'", 1),
        (b"C0001,Anna,anna@example.com\n", "no_header", "not column names", 1),
        (b"1,2,3\n4,5,6\n", "no_header", "Insert a header row", 1),
    ],
    ids=[
        "empty",
        "whitespace",
        "bom-only",
        "only-separators",
        "header-only",
        "header-then-blank",
        "xlsx",
        "xls",
        "pdf",
        "random-binary",
        "duplicate-header",
        "no-header-email",
        "no-header-numbers",
    ],
)
def test_bad_files(tmp_path, data, code, phrase, row):
    path = write(tmp_path, data)
    with pytest.raises(CsvProblem) as exc:
        sniff(path)
    problem = exc.value
    assert problem.code == code
    assert phrase in problem.message
    assert problem.row == row
    assert str(problem) == problem.message
    assert problem.message.endswith(".")


def test_spreadsheet_message_names_the_fix(tmp_path):
    with pytest.raises(CsvProblem) as exc:
        sniff(write(tmp_path, XLSX, "cands.csv"))
    assert exc.value.message == (
        "This looks like an Excel workbook (.xlsx), not a CSV file. In Excel, choose "
        "File \u203a Save As \u203a 'CSV UTF-8 (Comma delimited)' and upload that file."
    )


def test_duplicate_header_names_columns(tmp_path):
    with pytest.raises(CsvProblem) as exc:
        sniff(write(tmp_path, b"id,name,Email,email,Email,x,x\n1,a,b,c,d,e,f\n"))
    assert "'Email' (columns C and E)" in exc.value.message
    assert "'x' (columns F and G)" in exc.value.message
    assert "unique name" in exc.value.message


def test_header_only_detected_while_reading_big_file(tmp_path):
    path = write(tmp_path, b"id,name\n" + b"\n" * 5000)
    layout = sniff(path, sample_bytes=100)  # file larger than the sample: sniff can't tell
    with pytest.raises(CsvProblem) as exc:
        list(read_records(path, layout))
    assert exc.value.code == "header_only"
    with pytest.raises(CsvProblem) as exc:
        count_records(path, layout)
    assert exc.value.code == "header_only"


def test_csvproblem_pickles():
    problem = CsvProblem("Row 3 is bad.", "bad_encoding", 3)
    clone = pickle.loads(pickle.dumps(problem))
    assert (clone.message, clone.code, clone.row) == ("Row 3 is bad.", "bad_encoding", 3)


# --------------------------------------------------------------------------------------
# Row problems
# --------------------------------------------------------------------------------------


def test_ragged_row_counts_records_not_lines(tmp_path):
    data = (
        b"id,name,note\n"
        b'C1,Anna,"multi\nline\nnote"\n'  # row 2 spans three physical lines
        b"C2,Ben,ok\n"  # row 3
        b"C3,Cleo\n"  # row 4: ragged (physical line 6)
        b"C4,Dan,ok,extra\n"  # row 5: ragged, too many
    )
    path = write(tmp_path, data)
    layout = sniff(path)
    probs = problems(path, layout)
    assert [(p.row, p.code) for p in probs] == [(4, "ragged_row"), (5, "ragged_row")]
    assert probs[0].message == (
        "Row 4 has 2 values but the header has 3 columns. Check for a missing or extra "
        "separator (comma) on that row."
    )
    assert "Row 5 has 4 values" in probs[1].message


def test_ragged_row_hints_at_unclosed_quote(tmp_path):
    path = write(tmp_path, b'id,name,note\nC1,"Anna,x\nC2,Ben,ok\nC3,Cleo,ok\n')
    layout = sniff(path)
    (prob,) = problems(path, layout)
    assert (prob.row, prob.code) == (2, "ragged_row")
    assert "quotation mark" in prob.message


def test_ragged_row_semicolon_label(tmp_path):
    path = write(tmp_path, b"id;name;x\nC1;Anna;1\nC2;Ben\n")
    (prob,) = problems(path, sniff(path))
    assert "separator (semicolon)" in prob.message


def test_missing_and_duplicate_id(tmp_path):
    data = b"id,name\nC0001,a\nC0042,b\n ,c\nC0003,d\nC0042,e\n C0042 ,f\n"
    path = write(tmp_path, data)
    layout = sniff(path)
    got = list(read_records(path, layout, id_column="id"))
    assert [(r, p.code if p else None) for r, _, p in got] == [
        (2, None),
        (3, None),
        (4, "missing_id"),
        (5, None),
        (6, "duplicate_id"),
        (7, "duplicate_id"),
    ]
    assert got[2][2].message.startswith("Row 4 has no value in the ID column 'id'.")
    assert got[4][2].message == (
        "Row 6 has the same ID 'C0042' as row 3. Each candidate needs a unique ID."
    )
    assert "as row 3" in got[5][2].message


def test_no_such_column_lists_columns_and_suggests(tmp_path):
    path = write(tmp_path, b"Candidate ID,Name,E-mail\nC1,Anna,a@x.org\n")
    layout = sniff(path)
    with pytest.raises(CsvProblem) as exc:
        read_records(path, layout, id_column="candidate_id")  # raises before iterating
    problem = exc.value
    assert problem.code == "no_such_column"
    assert "no column named 'candidate_id'" in problem.message
    assert "Did you mean 'Candidate ID'?" in problem.message
    assert "'Candidate ID', 'Name', 'E-mail'" in problem.message

    with pytest.raises(CsvProblem) as exc:
        read_records(path, layout, id_column="ref")
    assert "Did you mean" not in exc.value.message
    assert "'Name'" in exc.value.message
    # Only exact names are accepted; near matches are suggested.
    with pytest.raises(CsvProblem) as exc:
        read_records(path, layout, id_column=" name ")
    assert "Did you mean 'Name'?" in exc.value.message
    assert good_rows(path, layout, id_column="Name") == [(2, ["C1", "Anna", "a@x.org"])]


def test_mid_file_bad_utf8_after_sample(tmp_path):
    rows = [f"C{i},Zoë {i}".encode() for i in range(200)]
    rows[150] = b"C150,Ren\xe9e"  # a cp1252 byte far after the sample
    path = write(tmp_path, b"id,name\n" + b"\n".join(rows) + b"\n")
    layout = sniff(path, sample_bytes=256)
    assert layout.encoding == "utf-8"
    stats = ReadStats()
    got = list(read_records(path, layout, id_column="id", stats=stats))
    # The damaged byte is replaced and the row kept (it used to be rejected).
    assert [g for g in got if g[2] is not None] == []
    assert got[150] == (152, ["C150", "Ren\ufffde"], None)
    assert (stats.unreadable_chars, stats.unreadable_rows, stats.first_rows) == (1, 1, [152])
    assert got[-1][:2] == (201, ["C199", "Zoë 199"])
    assert count_records(path, layout) == 200
    assert preview(path, layout, n=200)[150] == ["C150", "Ren\ufffde"]


def test_field_too_long_is_a_row_problem(tmp_path):
    huge = b"x" * (FIELD_SIZE_LIMIT + 10)
    path = write(tmp_path, b"id,note\nC1,short\nC2," + huge + b"\nC3,fine\n")
    layout = sniff(path, sample_bytes=4096)
    got = list(read_records(path, layout, id_column="id"))
    assert [(r, p.code if p else None) for r, _, p in got] == [
        (2, None),
        (3, "field_too_long"),
        (4, None),
    ]
    assert got[2][1] == ["C3", "fine"]
    assert count_records(path, layout) == 3


# --------------------------------------------------------------------------------------
# neutralize_cell
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("@cmd", "'@cmd"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-5", "-5"),
        ("+3.2", "+3.2"),
        ("-1,234.50", "-1,234.50"),
        ("-2e3", "-2e3"),
        ("+1 555 0100", "'+1 555 0100"),
        ("-inf", "'-inf"),
        ("", ""),
        ("Hello", "Hello"),
        ("5-3", "5-3"),
        ("a=b", "a=b"),
    ],
)
def test_neutralize_cell(value, expected):
    assert neutralize_cell(value) == expected


# --------------------------------------------------------------------------------------
# Streaming
# --------------------------------------------------------------------------------------


def test_streaming_memory_stays_small(tmp_path):
    path = tmp_path / "big.csv"
    note = "Experienced recruiter; speaks German, French. " * 3
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("id,name,email,note\r\n")
        for i in range(200_000):
            f.write(f'C{i:06d},Name {i},n{i}@example.com,"{note}"\r\n')
    assert path.stat().st_size > 30_000_000
    layout = sniff(path)
    tracemalloc.start()
    try:
        count = 0
        for _row, _values, problem in read_records(path, layout):
            assert problem is None
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert peak < 20 * 1024 * 1024, peak


def test_sniff_is_fast_on_long_quote_heavy_lines(tmp_path):
    # csv.Sniffer's regexes are super-linear; a 50-line sample of long lines full of
    # apostrophes took ~28 s when the Sniffer saw the whole sample.
    line = "C1;x;" + "l'avenir d'un 'test, " * 300 + "\n"
    path = write(tmp_path, ("id;name;note\n" + line * 200).encode())
    start = time.perf_counter()
    layout = sniff(path)
    assert time.perf_counter() - start < 2
    assert layout.delimiter == ";"


def test_mostly_utf8_with_a_stray_cp1252_byte_in_the_sample(tmp_path):
    # Not switched to Windows-1252 (which would garble "Zoë" into "ZoÃ«"): only the bad byte
    # is replaced, and the row is scorable (it used to be a bad_encoding row problem).
    data = "id,name\n1,Zoë\n2,Łódź\n".encode() + b"3,Ren\xe9e\n4,Ann\n"
    path = write(tmp_path, data)
    layout = sniff(path)
    assert layout.encoding == "utf-8"
    got = list(read_records(path, layout))
    assert [(r, v, p.code if p else None) for r, v, p in got] == [
        (2, ["1", "Zoë"], None),
        (3, ["2", "Łódź"], None),
        (4, ["3", "Ren\ufffde"], None),
        (5, ["4", "Ann"], None),
    ]


def test_bom_with_stray_cp1252_byte(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfid,name\n1,Ren\xe9e\n2,x\n")
    layout = sniff(path)
    assert (layout.encoding, layout.header) == ("utf-8-sig", ["id", "name"])
    assert list(read_records(path, layout)) == [
        (2, ["1", "Ren\ufffde"], None),
        (3, ["2", "x"], None),
    ]


def test_bad_byte_in_header_is_a_file_problem(tmp_path):
    path = write(tmp_path, b"id,n\xe9me\n" + "1,é\n".encode() * 100)
    with pytest.raises(CsvProblem) as exc:
        sniff(path, sample_bytes=64)
    assert (exc.value.code, exc.value.row) == ("bad_encoding", 1)
    assert "CSV UTF-8" in exc.value.message


def test_utf16_without_bom(tmp_path):
    path = write(tmp_path, "id\tname\r\nC1\tZoë\r\n".encode("utf-16-le"))
    layout = sniff(path)
    assert (layout.encoding, layout.delimiter) == ("utf-16-le", "\t")
    assert good_rows(path, layout) == [(2, ["C1", "Zoë"])]


def test_long_run_of_blank_lines_before_header(tmp_path):
    path = write(tmp_path, b" \n" * 200 + "id,name\nC1,Zoë\n".encode())
    layout = sniff(path, sample_bytes=64)
    assert (layout.header, layout.header_row) == (["id", "name"], 201)
    assert good_rows(path, layout) == [(202, ["C1", "Zoë"])]


# --------------------------------------------------------------------------------------
# Damaged UTF-8 as tools leave it: keep what is valid, replace only what is not
# --------------------------------------------------------------------------------------


@pytest.mark.resumes35
def test_a_mostly_utf8_file_with_a_few_cp1252_bytes_keeps_every_valid_character(tmp_path):
    path = damaged_resume_csv(tmp_path)

    layout = sniff(path)
    stats = ReadStats()
    records = list(read_records(path, layout, stats=stats))

    assert layout.encoding == "utf-8"
    objective = layout.header.index("career_objective")
    good = {row: values for row, values, problem in records if problem is None}
    assert not [p for _, _, p in records if p is not None and p.code != "empty_row"]
    assert good[2][objective].startswith(VALID_UTF8)
    assert good[3][objective].startswith("Fresher (caf\ufffd owner\ufffds son)")
    assert "Jos\ufffd" in good[6][objective]
    assert (stats.unreadable_chars, stats.unreadable_rows) == (DAMAGED_CHARS, DAMAGED_ROWS)
    assert stats.first_rows == [3, 5, 6]
    assert stats.message() == "7 characters in 3 rows could not be read and show as \ufffd."
    counted = ReadStats()
    assert count_records(path, layout, stats=counted) == len(good)
    assert (counted.message(), counted.first_rows) == (stats.message(), stats.first_rows)
    assert preview(path, layout, 3)[0][objective].startswith(VALID_UTF8)


def test_valid_utf8_is_not_read_as_latin1_when_damaged_bytes_outnumber_it(tmp_path):
    # One ñ against five bytes from Windows-1252, one of which (0x81) Windows-1252 does not
    # even define: this file used to be read as Latin-1, turning "Peña" into "PeÃ±a".
    path = write(
        tmp_path, "id,name,note\n1,Peña,ok\n".encode() + b"2,Ren\xe9e,caf\xe9 \x96 \x81\xe9\n"
    )

    layout = sniff(path)
    stats = ReadStats()
    rows = good_rows(path, layout, stats=stats)

    assert layout.encoding == "utf-8"
    assert rows == [
        (2, ["1", "Peña", "ok"]),
        (3, ["2", "Ren\ufffde", "caf\ufffd \ufffd \ufffd\ufffd"]),
    ]
    assert stats.message() == "5 characters in 1 row could not be read and show as \ufffd."


def test_a_genuine_windows_1252_file_is_still_read_as_windows_1252(tmp_path):
    path = write(tmp_path, "id,name\n1,Renée\n2,José – Müller\n".encode("cp1252"))

    layout = sniff(path)

    assert layout.encoding == "cp1252"
    assert good_rows(path, layout) == [(2, ["1", "Renée"]), (3, ["2", "José – Müller"])]


@pytest.mark.resumes35
def test_an_encoding_chosen_by_the_user_overrides_the_guess(tmp_path):
    path = damaged_resume_csv(tmp_path)
    objective = sniff(path).header.index("career_objective")

    as_cp1252 = sniff(path, encoding="cp1252")
    as_latin1 = sniff(path, encoding="latin-1")

    assert (as_cp1252.encoding, as_cp1252.encoding_label) == ("cp1252", "Windows-1252")
    assert preview(path, as_cp1252, 1)[0][objective].startswith("PeÃ±a MuÃ±oz")
    assert as_latin1.encoding == "latin-1"
    stats = ReadStats()
    assert count_records(path, as_latin1, stats=stats) and stats.unreadable_chars == 0
    bom = write(tmp_path, b"\xef\xbb\xbfid,name\n1,Ren\xc3\xa9e\n", "bom.csv")
    assert sniff(bom, encoding="utf-8").encoding == "utf-8-sig"
    utf16 = write(tmp_path, "id\tname\r\n1\tZoë\r\n".encode("utf-16"), "u16.csv")
    assert good_rows(utf16, sniff(utf16, encoding="utf-16")) == [(2, ["1", "Zoë"])]
    assert {"", "utf-8", "cp1252", "latin-1", "utf-16"} <= {value for value, _ in ENCODING_CHOICES}
    with pytest.raises(CsvProblem) as exc:
        sniff(path, encoding="klingon")
    assert exc.value.code == "bad_encoding"
