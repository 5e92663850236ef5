"""Upload size limit shared by the web upload and the API's /v1/files."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest


class SizeLimitHandler(FileUploadHandler):
    """Stop reading an upload as soon as it passes HRBATCH_MAX_UPLOAD_MB (even without a
    Content-Length), instead of filling the disk first. Install it before the body is
    read; `too_large(request)` tells afterwards."""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > settings.HRBATCH_MAX_UPLOAD_BYTES:
            self.request.upload_too_large = True  # type: ignore[union-attr]
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def limit_upload(request: HttpRequest) -> bool:
    """Install the limit; False when the declared length is already over it."""
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > settings.HRBATCH_MAX_UPLOAD_BYTES + 64 * 1024:
        return False
    request.upload_handlers.insert(0, SizeLimitHandler(request))
    return True


def too_large(request: HttpRequest) -> bool:
    return bool(getattr(request, "upload_too_large", False))
