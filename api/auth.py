"""Bearer API keys, and `api_view`: the one decorator every /v1 view wears.

It checks the key (stored hashed; services.api_key_check), sets `request.api_user` to the
key's owner (the typed `ApiRequest`), refuses other methods, and answers an `ApiError`
raised by the view in OpenAI's shape.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from evaluations import services

from .errors import ApiError


class ApiRequest(HttpRequest):
    """A request `api_view` let in: `api_user` owns the API key it carried."""

    api_user: AbstractBaseUser


ApiView = Callable[..., HttpResponse]


def api_view(methods: tuple[str, ...]) -> Callable[[ApiView], ApiView]:
    """Bearer-key auth, method check and OpenAI-shaped errors around an API view."""

    def decorate(view: ApiView) -> ApiView:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                request.api_user = authenticate(request)  # type: ignore[attr-defined]
                if request.method not in methods:
                    raise ApiError(
                        405,
                        f"Method {request.method} is not allowed here; use {' or '.join(methods)}.",
                        code="method_not_allowed",
                    )
                return view(request, *args, **kwargs)
            except ApiError as error:
                return error.response()
            # What Django raises while reading the body (RequestDataTooBig, a multipart
            # error…) goes on to Django, which logs it (django.security) and answers with
            # handler400: errors.bad_request.

        return wrapper

    return decorate


def authenticate(request: HttpRequest) -> AbstractBaseUser:
    """The owner of the request's Bearer key; raises ApiError 401 without a live one."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        raise ApiError(
            401,
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). "
            "Create one with `python manage.py create_api_key --name NAME`.",
        )
    key = header[7:].strip()
    api_key = services.api_key_check(key)
    if api_key is None:
        shown = f"{key[:6]}…{key[-4:]}" if len(key) > 12 else "****"
        raise ApiError(401, f"Incorrect API key provided: {shown}.", code="invalid_api_key")
    return api_key.owner
