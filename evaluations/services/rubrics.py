"""Rubrics: the default, one by name, and saving a new version or a personal copy."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from ..models import Rubric
from ..rubric_content import DEFAULT_CRITERIA, DEFAULT_INSTRUCTIONS, DEFAULT_RUBRIC_NAME
from ..selectors import rubric_newest
from .common import InputError


def rubric_default() -> Rubric:
    """The newest shared version of the default rubric (seeded by a migration; recreated if
    gone). Personal copies never become anyone's default."""
    rubric = rubric_newest(name=DEFAULT_RUBRIC_NAME)
    if rubric is None:
        rubric, _ = Rubric.objects.get_or_create(
            name=DEFAULT_RUBRIC_NAME,
            version=1,
            owner=None,
            defaults={"instructions": DEFAULT_INSTRUCTIONS, "criteria": DEFAULT_CRITERIA},
        )
    return rubric


def rubric_get(name: str | None) -> Rubric:
    """The newest version of the shared rubric called `name`, or with "NAME vN" that version."""
    if not name:
        return rubric_default()
    shared = Rubric.objects.filter(owner=None)
    rubric = rubric_newest(name=name)
    if rubric is None and (match := re.fullmatch(r"(.+?)\s+v(\d+)", name.strip())):
        rubric = shared.filter(name=match[1], version=int(match[2])).first()
    if rubric is None:
        names = ", ".join(sorted(set(shared.values_list("name", flat=True))))
        raise InputError(f"There is no rubric called {name!r}. Rubrics: {names}.")
    return rubric


_CRITERION_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def rubric_save(
    *,
    rubric: Rubric | None,
    author: AbstractBaseUser | None,
    name: str,
    instructions: str,
    criteria: list[dict[str, Any]],
    rationale: bool = False,
) -> Rubric:
    """Create a rubric, or change one, as `author` (None: the command line, trusted).

    Shared rubrics are changed only by staff, and every change is a new version (so the
    history says who changed what, and runs keep what scored them). Anyone else's edit of
    a shared rubric becomes their own copy, seen only by them; their new rubrics too.
    Their own copy, while no run used it, is edited in place.
    """
    if not name.strip():
        raise InputError("Give the rubric a name.")
    if not instructions.strip():
        raise InputError("Write the instructions for the model.")
    if not criteria:
        raise InputError("A rubric needs at least one criterion.")
    keys = [str(c.get("key", "")) for c in criteria]
    for key in keys:
        if not _CRITERION_KEY.match(key):
            raise InputError(
                f"Criterion key {key!r} must be lower-case letters, digits and underscores, "
                "starting with a letter (e.g. technical_skills)."
            )
    if len(set(keys)) != len(keys):
        raise InputError("Each criterion needs its own key.")
    clean = [
        {
            "key": c["key"],
            "label": str(c.get("label") or c["key"]).strip(),
            "description": str(c.get("description", "")).strip(),
            "anchors": {
                level: str(text).strip()
                for level, text in (c.get("anchors") or {}).items()
                if level in ("1", "4", "7", "10") and str(text).strip()
            },
        }
        for c in criteria
    ]
    name = name.strip()
    fields = {"instructions": instructions.strip(), "criteria": clean, "rationale": rationale}
    if rubric is not None and rubric.may_edit(author):
        owner = rubric.owner
    else:  # a new rubric, or someone else's: the author's own unless they are staff
        owner = None if author is None or author.is_staff else author
    if (
        rubric is not None
        and owner is not None
        and rubric.owner_id == owner.pk
        and rubric.name == name
        and not rubric.is_frozen
    ):
        for field, value in fields.items():
            setattr(rubric, field, value)
        rubric.save(update_fields=list(fields))
        return rubric
    with transaction.atomic():
        latest = rubric_newest(name=name, owner=owner)
        return Rubric.objects.create(
            name=name,
            owner=owner,
            created_by=author,
            based_on=rubric,
            version=(latest.version + 1) if latest else 1,
            **fields,
        )
