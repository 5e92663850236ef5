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
