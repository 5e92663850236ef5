"""Small display helpers for the templates."""

from __future__ import annotations

from typing import Any

from django import template

from evaluations.metrics import format_duration

register = template.Library()


@register.filter
def duration(seconds: Any) -> str:
    """12345 → '3 h 25 min'; None → '—'."""
    if seconds is None or seconds == "":
        return "—"
    return format_duration(int(seconds))


@register.filter
def get(mapping: Any, key: str) -> Any:
    if isinstance(mapping, dict):
        return mapping.get(key, "")
    return ""


@register.filter
def gib(value: Any) -> str:
    return f"{int(value) / (1024**3):.1f} GB" if value is not None else "—"


@register.simple_tag(takes_context=True)
def query(context: Any, **changes: Any) -> str:
    """The current query string with some parameters changed (sorting, filtering)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    params.pop("page", None) if "page" not in changes else None
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def split(value: str, sep: str = " ") -> list[str]:
    return value.split(sep)
