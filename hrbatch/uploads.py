"""Upload size limit shared by the web uploads (candidates, jobs files) and the API's
/v1/files."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

from hrbatch.http import MAX_ID, whole_number


class SizeLimitHandler(FileUploadHandler):
    """Stop reading an upload as soon as it passes HRBATCH_MAX_UPLOAD_MB (even without a
    Content-Length), instead of filling the disk first. Install it before the body is
    read; `too_large(request)` tells afterwards.

    With `keep_fields`, the rest of the form is still read (a file's bytes past the limit
    go nowhere): a page whose form carries a person's choices beside the file (the check
    page's "Read jobs file") comes back with those choices as they were."""

    def __init__(self, request: HttpRequest, *, keep_fields: bool = False) -> None:
        super().__init__(request)
        self.keep_fields = keep_fields

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > settings.HRBATCH_MAX_UPLOAD_BYTES:
            self.request.upload_too_large = True  # type: ignore[union-attr]
            if self.keep_fields:
                return None  # dropped: no later handler stores it
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def limit_upload(request: HttpRequest, *, keep_fields: bool = False) -> bool:
    """Install the limit; False when the declared length is already over it (then the
    body is best not read at all), unless the form's other fields are to be kept."""
    declared = declared_length(request)
    if declared > settings.HRBATCH_MAX_UPLOAD_BYTES + 64 * 1024 and not keep_fields:
        return False
    request.upload_handlers.insert(0, SizeLimitHandler(request, keep_fields=keep_fields))
    return True


def declared_length(request: HttpRequest) -> int:
    """The body's length as the request declares it (0 when it does not say)."""
    length = request.META.get("CONTENT_LENGTH")
    return whole_number(length, low=0, high=MAX_ID, clamp=True) or 0


def too_large(request: HttpRequest) -> bool:
    return bool(getattr(request, "upload_too_large", False))


def too_large_message(*, then: str, size: int | None = None) -> str:
    """Why an upload was refused for its size (`size`: its bytes, when it said), and
    `then`, what to do instead: one wording for every web upload."""
    limit = settings.HRBATCH_MAX_UPLOAD_BYTES // (1024 * 1024)
    actual = f"This file is {size / (1024 * 1024):,.0f} MB and the" if size else "The"
    return f"{actual} largest file hrbatch accepts is {limit} MB. {then}"
