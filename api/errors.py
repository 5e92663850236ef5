"""OpenAI's error shape for everything under /v1, including what Django refuses itself.

`ApiError` is raised by the views and `api_view` turns it into
`{"error": {"message", "type", "param", "code"}}`. `unknown_route` is the 404 of /v1, and
`bad_request` / `server_error` are the project's handler400 / handler500: JSON under /v1,
Django's own pages elsewhere.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from evaluations import selectors
from evaluations.services.common import RequestProblem


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = (
            status,
            message,
            type,
            param,
            code,
        )

    @classmethod
    def invalid(cls, problem: RequestProblem) -> ApiError:
        """A 400 for a body openai_compat refused: its message, param and code."""
        return cls(400, problem.message, type=problem.type, param=problem.param, code=problem.code)

    def response(self) -> JsonResponse:
        body = {
            "error": {
                # Never where the model servers are: the server log has the full message.
                "message": selectors.public_message(self.message),
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }
        response = JsonResponse(body, status=self.status)
        if self.status == 409:
            # The OpenAI SDK retries a 409 (twice by default) unless told not to: a batch that
            # cannot be cancelled now will not become cancellable by asking again.
            response["x-should-retry"] = "false"
        return response


def not_found(kind: str, object_id: str) -> ApiError:
    return ApiError(404, f"No {kind} found with id '{object_id}'.", param="id")


@csrf_exempt
def unknown_route(request: HttpRequest) -> HttpResponse:
    """Any other URL under /v1: OpenAI's 404 rather than the web app's HTML page."""
    return ApiError(
        404,
        f"Invalid URL ({request.method} {request.path}): hrbatch serves /v1/files, "
        "/v1/batches, /v1/models and /v1/chat/completions.",
    ).response()


def _is_api(request: HttpRequest) -> bool:
    return request.path == "/v1" or request.path.startswith("/v1/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a request Django refused (a Host not allowed, a body too large or
    unreadable), before or while a view read it. Django has logged it already."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    return _refused(request, exception).response()


def _refused(request: HttpRequest, exception: Exception) -> ApiError:
    # Django's own wording can name settings or paths; a client gets plain facts.
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        return ApiError(
            413,
            f"The request body is larger than the {limit / 2**20:g} MB a request may have; "
            "send large inputs as a batch file (POST /v1/files, purpose 'batch').",
        )
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return ApiError(400, "The request has too many form fields or files.")
    if isinstance(exception, MultiPartParserError):
        return ApiError(
            400,
            f"The multipart/form-data body cannot be read ({exception}); send the file as the "
            "'file' part and the purpose as the 'purpose' part, as the OpenAI SDK does.",
        )
    if isinstance(exception, DisallowedHost):
        host = request.META.get("HTTP_HOST", "")
        return ApiError(
            400, f"This server does not answer to the host {host[:100]!r}; use its address."
        )
    return ApiError(400, "The request was refused as malformed or unsafe.")


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: Django has logged the error (django.request); the client gets JSON."""
    if _is_api(request):
        return ApiError(
            500,
            "The server had an error while processing your request; it is logged. "
            "Try again, and tell the administrator if it persists.",
            type="server_error",
        ).response()
    return defaults.server_error(request)
