"""Django admin: runs, items, rubrics and files; actions call the same services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .models import File, Item, Rubric, Run


@admin.register(Rubric)
class RubricAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "rationale", "created_at")
    search_fields = ("name",)


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = ("id", "filename", "purpose", "bytes", "owner", "created_at")
    list_filter = ("purpose",)
    search_fields = ("id", "filename", "sha256")
    readonly_fields = ("id", "path", "bytes", "sha256", "created_at")


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "name",
        "kind",
        "status",
        "done_count",
        "failed_count",
        "total_count",
        "model",
        "owner",
        "created_at",
    )
    list_filter = ("status", "kind", "backend", "owner")
    search_fields = ("public_id", "name")
    readonly_fields = tuple(
        f.name for f in Run._meta.get_fields() if f.concrete and f.name not in ("name",)
    )
    actions = ("pause", "resume", "cancel")

    @admin.action(description="Pause")
    def pause(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        count = sum(services.run_pause(run=run) for run in queryset)
        self.message_user(request, f"Paused {count} run(s).", messages.SUCCESS)

    @admin.action(description="Resume")
    def resume(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        count = sum(services.run_resume(run=run) for run in queryset)
        self.message_user(request, f"Resumed {count} run(s).", messages.SUCCESS)

    @admin.action(description="Cancel")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        count = sum(services.run_cancel(run=run) for run in queryset)
        self.message_user(request, f"Cancelled {count} run(s).", messages.SUCCESS)


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("custom_id", "run", "line", "status", "attempts", "latency_ms", "finished_at")
    list_filter = ("status", "run")
    search_fields = ("custom_id",)
    readonly_fields = tuple(f.name for f in Item._meta.get_fields() if f.concrete)
    list_select_related = ("run",)
    show_full_result_count = False  # counting 170,000 rows on every page is slow
