"""/v1, routed from hrbatch/urls.py; every URL not listed answers OpenAI's JSON 404."""

from __future__ import annotations

from django.urls import path, re_path

from . import errors, views

urlpatterns = [
    path("files", views.files),
    path("files/<str:file_id>", views.file_detail),
    path("files/<str:file_id>/content", views.file_content),
    path("batches", views.batches_view),
    path("batches/<str:batch_id>", views.batch_detail),
    path("batches/<str:batch_id>/cancel", views.batch_cancel),
    path("models", views.models_view),
    path("chat/completions", views.chat_completions),
    re_path(r"", errors.unknown_route),  # last: every other /v1 URL answers OpenAI's JSON 404
]
