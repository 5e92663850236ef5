from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from web.views.accounts import PasswordResetView


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("admin/", admin.site.urls),
    # Before the stock auth URLs: reset links are built from SITE_URL (see the form), sent
    # only by e-mail, a few an hour (web.views.accounts).
    path("accounts/password_reset/", PasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", healthz),
    path("v1/", include("api.urls")),
    path("", include("web.urls")),
]

# Under /v1 these answer OpenAI-shaped JSON; elsewhere Django's own pages (api.errors).
handler400 = "api.errors.bad_request"
handler500 = "api.errors.server_error"
