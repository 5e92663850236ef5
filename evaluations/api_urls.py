from __future__ import annotations

from django.urls import path, re_path

from . import api

urlpatterns = [
    path("files", api.files),
    path("files/<str:file_id>", api.file_detail),
    path("files/<str:file_id>/content", api.file_content),
    path("batches", api.batches_view),
    path("batches/<str:batch_id>", api.batch_detail),
    path("batches/<str:batch_id>/cancel", api.batch_cancel),
    path("models", api.models_view),
    path("chat/completions", api.chat_completions),
    re_path(r"", api.unknown_route),  # last: every other /v1 URL answers OpenAI's JSON 404
]
