"""HTTP both doors share (the web app and the /v1 API): downloads of stored files and of
CSV streamed from the database.

Project level rather than in either app, so that neither door imports the other (the
upload size limit lives beside it, in uploads.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.http import FileResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.utils.text import slugify

from evaluations.export import media_type
from evaluations.models import File


def file_download(file: File) -> FileResponse:
    """A stored file as an attachment, under the name it was uploaded or written with.

    FileResponse encodes the name per RFC 6266 (Django's content_disposition_header); the
    type is never guessed from the uploader's name (x.html is not served as HTML).
    """
    response = FileResponse(
        open(file.abspath, "rb"),  # noqa: SIM115 - FileResponse streams and closes it
        as_attachment=True,
        filename=file.filename,
        content_type=media_type(file.filename),
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def csv_download(chunks: Iterable[bytes], filename: str) -> StreamingHttpResponse:
    """CSV bytes streamed as an attachment named `filename` (RFC 6266, any characters)."""
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def download_name(name: str) -> str:
    """A run's name as the start of a download's file name, safe on every system:
    'March intake.csv (2)' → 'march-intake-2' ("" when nothing of it is left)."""
    return slugify(re.sub(r"\.(csv|tsv|txt)\b", "", name, flags=re.IGNORECASE))


# The largest id a database row can have (a signed 64-bit integer, SQLite and PostgreSQL).
MAX_ID = 2**63 - 1


def whole_number(value: str | None, *, low: int, high: int, clamp: bool = False) -> int | None:
    """A query or form value read as a whole number from `low` to `high`: ASCII digits
    only; past `high` it is `high` with `clamp`, else None; None for anything else.

    Every integer a request carries goes through here. Anyone may write a query string:
    "²" passes str.isdigit() and breaks int(), a 5,000-digit number breaks int(), and
    10**30 overflows the database (a 500, or a CSV download cut off midway)."""
    if not value or not value.isascii() or not value.isdigit():
        return None
    digits = value.lstrip("0") or "0"
    if len(digits) > len(str(high)) or int(digits) > high:
        return high if clamp else None
    number = int(digits)
    return number if number >= low else None
