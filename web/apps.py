from __future__ import annotations

from django.apps import AppConfig


class WebConfig(AppConfig):
    """The web pages. No models: they all live in `evaluations`."""

    name = "web"
    verbose_name = "Web"
