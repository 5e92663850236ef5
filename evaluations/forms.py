"""Forms of the web app: they validate input; services do the work."""

from __future__ import annotations

from typing import Any

from django import forms

from . import services
from .models import Rubric

ROLE_CHOICES = [
    (services.ROLE_ID, "Candidate ID"),
    (services.ROLE_MODEL, "Show to the AI"),
    (services.ROLE_AUDIT, "Keep in results only"),
    (services.ROLE_IGNORE, "Ignore"),
]


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Candidate file (CSV)",
        help_text="A .csv file with one row per candidate and a header row.",
    )


class PrepareForm(forms.Form):
    """Columns, rubric, model and notification for a new run, in one form."""

    name = forms.CharField(
        label="Run name",
        max_length=200,
        required=False,
        help_text="Shown in the runs list, the e-mail and the downloaded file's name.",
    )
    id_column = forms.ChoiceField(
        label="Candidate ID column",
        help_text="A column with a different value for every candidate, e.g. an application "
        "number. Choose 'Row number' if there is none.",
    )
    rubric = forms.ModelChoiceField(queryset=Rubric.objects.none(), empty_label=None)
    model = forms.ChoiceField(label="AI model")
    notify_email = forms.EmailField(
        label="Email me when it is done", required=False, help_text="Leave empty for no email."
    )
    skip_invalid = forms.BooleanField(
        label="Leave out rows with problems and score the rest",
        required=False,
    )

    def __init__(
        self,
        *args: Any,
        header: list[str],
        models: list[str],
        initial_roles: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.header = header
        self.fields["id_column"].choices = [("", "Row number (no ID column)")] + [
            (c, c) for c in header
        ]
        latest: dict[str, Rubric] = {}
        for rubric in Rubric.objects.order_by("name", "-version"):
            latest.setdefault(rubric.name, rubric)
        self.fields["rubric"].queryset = Rubric.objects.filter(
            pk__in=[r.pk for r in latest.values()]
        )
        self.fields["model"].choices = [(m, m) for m in models]
        for index, column in enumerate(header):
            self.fields[f"role_{index}"] = forms.ChoiceField(
                label=column,
                choices=ROLE_CHOICES,
                initial=initial_roles.get(column, services.ROLE_MODEL),
                required=False,
            )

    def role_fields(self) -> list[forms.BoundField]:
        return [self[f"role_{i}"] for i in range(len(self.header))]

    def roles(self) -> dict[str, str]:
        id_column = self.cleaned_data.get("id_column") or None
        roles = {}
        for index, column in enumerate(self.header):
            if column == id_column:
                roles[column] = services.ROLE_ID
            else:
                roles[column] = self.cleaned_data.get(f"role_{index}") or services.ROLE_IGNORE
        return roles

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        id_column = data.get("id_column") or None
        for index, column in enumerate(self.header):
            if column != id_column and data.get(f"role_{index}") == services.ROLE_ID:
                raise forms.ValidationError(
                    f"'{column}' is marked as the candidate ID, but the ID column chosen "
                    "above is different. Pick the ID column in 'Candidate ID column'."
                )
        if not any(role == services.ROLE_MODEL for role in self.roles().values()):
            raise forms.ValidationError(
                "Choose at least one column to show to the AI (for example skills or work history)."
            )
        return data


class RubricForm(forms.Form):
    name = forms.CharField(max_length=100)
    instructions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What the AI is told before it sees any candidate.",
    )
    rationale = forms.BooleanField(
        label="Ask for a short reason with every set of scores",
        required=False,
        help_text="Helpful for explaining scores; makes scoring slower.",
    )
