"""Rubrics: the list, one version and its history, what a version changed, the editor."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from evaluations import selectors, services
from evaluations.models import Rubric
from web.forms import RubricForm
from web.views.access import get_rubric_for_user, safe_next


@login_required
@require_GET
def rubrics_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/rubrics_list.html",
        {"rubrics": selectors.latest_rubrics(request.user), "next": safe_next(request)},
    )


@login_required
@require_GET
def rubric_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rubric = get_rubric_for_user(request, pk)
    versions = Rubric.objects.lineage(rubric).select_related("created_by")
    return render(
        request,
        "web/rubric_detail.html",
        {
            "rubric": rubric,
            "versions": versions,
            "may_edit": rubric.may_edit(request.user),
            "previous": rubric.previous(),
            "next": safe_next(request),
        },
    )


@login_required
@require_GET
def rubric_diff(request: HttpRequest, pk: int) -> HttpResponse:
    """What this version changed from the one before it (or the one it was copied from)."""
    rubric = get_rubric_for_user(request, pk)
    previous, diff = selectors.rubric_changes(rubric)
    return render(
        request, "web/rubric_diff.html", {"rubric": rubric, "previous": previous, "diff": diff}
    )


def _criteria_from_post(request: HttpRequest) -> list[dict[str, Any]]:
    criteria = []
    index = 0
    while f"c-{index}-key" in request.POST:
        key = request.POST.get(f"c-{index}-key", "").strip()
        if key:
            criteria.append(
                {
                    "key": key,
                    "label": request.POST.get(f"c-{index}-label", ""),
                    "description": request.POST.get(f"c-{index}-description", ""),
                    "anchors": {
                        level: request.POST.get(f"c-{index}-a{level}", "")
                        for level in ("1", "4", "7", "10")
                    },
                }
            )
        index += 1
    return criteria


@login_required
def rubric_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rubric = get_rubric_for_user(request, pk, to_edit=True) if pk else None
    next_url = safe_next(request)
    criteria = rubric.criteria if rubric else []
    form = RubricForm(
        request.POST or None,
        initial={
            "name": rubric.name if rubric else "",
            "instructions": rubric.instructions if rubric else "",
            "rationale": rubric.rationale if rubric else False,
        },
    )
    error = ""
    if request.method == "POST":
        criteria = _criteria_from_post(request)
        if form.is_valid():
            try:
                saved = services.rubric_save(
                    rubric=rubric,
                    author=request.user,
                    name=form.cleaned_data["name"],
                    instructions=form.cleaned_data["instructions"],
                    criteria=criteria,
                    rationale=form.cleaned_data["rationale"],
                )
            except services.InputError as exc:
                error = exc.message
            else:
                messages.success(request, _saved_message(rubric, saved))
                target = reverse("web:rubric", args=[saved.pk])
                if next_url:
                    target += "?" + urlencode({"next": next_url})
                return redirect(target)
    rows = [*criteria, {"key": "", "label": "", "description": "", "anchors": {}}]
    return render(
        request,
        "web/rubric_form.html",
        {
            "rubric": rubric,
            "form": form,
            "criteria": rows,
            "error": error,
            "next": next_url,
            "may_edit": rubric.may_edit(request.user) if rubric else True,
        },
        status=400 if request.method == "POST" else 200,
    )


def _saved_message(edited: Rubric | None, saved: Rubric) -> str:
    if edited is None:
        return "Rubric saved." if saved.is_shared else "Rubric saved; only you see it."
    if edited.is_shared and not saved.is_shared:
        return (
            f"Saved as your own copy (version {saved.version}). Only you see it; the shared "
            f"rubric {edited} is unchanged for everyone else."
        )
    if saved.pk == edited.pk:
        return "Rubric saved."
    if saved.is_shared:
        return (
            f"Saved as version {saved.version} of the shared rubric; version "
            f"{edited.version} stays as it was and can still be chosen for a run."
        )
    return (
        f"Saved as version {saved.version}: version {edited.version} was already used "
        "by a run, so it stays as it was."
    )
