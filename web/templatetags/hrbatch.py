"""Small display helpers for the templates."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from evaluations import selectors

register = template.Library()


@register.filter
def duration(seconds: Any) -> str:
    """12345 → '3 h 25 min'; None → '—'."""
    if seconds is None or seconds == "":
        return "—"
    return selectors.duration_said(int(seconds))


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


@register.simple_tag
def histogram(counts: dict[Any, int], label: str) -> str:
    """A bar chart of how many candidates got each score, as inline SVG (no script, no
    CDN): one bar per score 1-10, the count above each bar, the score below; the title and
    a text summary for screen readers."""
    width, height, top, bottom, gap = 300, 130, 16, 18, 4
    keys = sorted(counts, key=lambda k: int(k))
    most = max([int(v) for v in counts.values()] + [1])
    bar = (width - gap * (len(keys) + 1)) / max(len(keys), 1)
    total = sum(int(v) for v in counts.values())
    summary = ", ".join(f"{k}: {counts[k]}" for k in keys)
    parts = [
        f'<svg class="histogram" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}: {escape(summary)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)} ({total} scored)</title>",
    ]
    plot = height - top - bottom
    for i, key in enumerate(keys):
        n = int(counts[key])
        h = plot * n / most
        x = gap + i * (bar + gap)
        y = top + plot - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}"/>')
        if n:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" class="count">{n}</text>')
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{height - 4}" class="score">{escape(key)}</text>'
        )
    parts.append("</svg>")
    # Every value in it is escaped or a number.
    return mark_safe("".join(parts))
