from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The /v1 API: views only, every model lives in `evaluations`."""

    name = "api"
    # The default label "api" is generic enough to clash with a third-party app.
    label = "hrbatch_api"
    verbose_name = "hrbatch /v1 API"
