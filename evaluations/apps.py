from __future__ import annotations

from django.apps import AppConfig


class EvaluationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "evaluations"
    verbose_name = "Evaluations"

    def ready(self) -> None:
        # `serve`'s worker cluster dies with serve (lifeline.py).
        from . import lifeline

        # Imported once here so that forked workers inherit it instead of each paying
        # ~0.2 s on its first task (workers are recycled every 50 tasks).
        from .llm import ollama_backend  # noqa: F401

        lifeline.watch_parent_from_env()
