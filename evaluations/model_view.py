"""What the model is shown of a candidate: the model columns, with identity taken out
(`redact` does it to a text; this module to an Item, as its run says).

Columns kept for results or audit only never reach the model (ingest keeps them apart in
`Item.extra`). The text of the model columns can still say who someone is, so before it is
sent, emails, phone numbers, links and the candidate's own name (from the run's name
columns) are replaced with placeholders (`evaluations.redact`). On by default; a run can
switch it off (`run.intake.redact`). The engine and the "what the AI saw" page both ask
this module, so they show the same text.

The fields come out in the file's column order on every database: PostgreSQL's `jsonb`
keeps an object's keys in an order of its own (shorter keys first), and the order of the
fields is part of what the model reads.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.conf import settings

from . import redact
from .intake.columns import is_name_column
from .models import Item, Run


def redacts(run: Run) -> bool:
    """Whether the run hides identity in the text (candidate-file runs; on by default)."""
    return run.kind == Run.Kind.RUBRIC and run.intake.redact


class ModelView:
    """Turns an Item into the fields its run shows the model, counting what was hidden."""

    def __init__(self, run: Run):
        self.enabled = redacts(run)
        header = run.intake.header
        self.name_columns = [c for c in header if is_name_column(c)]
        self.region = str(settings.HRBATCH["PHONE_REGION"])
        self.place = {column: index for index, column in enumerate(header)}

    def in_file_order(self, fields: dict[str, Any]) -> dict[str, Any]:
        """`fields` (an Item's input or extra, as the database gave them back) in the
        file's column order."""
        last = len(self.place)
        return dict(sorted(fields.items(), key=lambda field: self.place.get(field[0], last)))

    def __call__(self, item: Item) -> tuple[dict[str, Any], Counter[str]]:
        shown = self.in_file_order(item.input or {})
        if not self.enabled:
            return shown, Counter()
        # A name column is usually kept for results only (in `extra`); read `extra` only
        # for those, so that a caller that deferred it pays no query.
        names = [
            str((shown if column in shown else item.extra or {}).get(column) or "")
            for column in self.name_columns
        ]
        fields = {key: str(value) for key, value in shown.items()}
        return redact.redact_fields(fields, names=names, region=self.region)
