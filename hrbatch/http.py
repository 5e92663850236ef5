"""HTTP both doors share (the web app and the /v1 API): the download of a stored file.

Project level rather than in either app, so that neither door imports the other (the
upload size limit lives beside it, in uploads.py).
"""

from __future__ import annotations

from django.http import FileResponse

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
