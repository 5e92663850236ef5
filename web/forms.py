"""Forms of the web app: they validate input; services do the work."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.db.models import F

from evaluations import selectors, services
from evaluations.models import IntakeSpec, Rubric

ROLE_CHOICES = [
    (services.ROLE_ID, "Candidate ID"),
    (services.ROLE_MODEL, "Show to the AI"),
    (services.ROLE_RESULTS, "Keep in results only"),
    (services.ROLE_AUDIT_ONLY, "Audit only (fairness report)"),
    (services.ROLE_JOB, "Describes the job"),
    (services.ROLE_IGNORE, "Ignore"),
]


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Candidate file (CSV)",
        help_text="A .csv file with one row per candidate and a header row.",
    )


class RubricVersionField(forms.ModelChoiceField):
    """Every version of every rubric the user sees, newest first: "Default v3 (latest)",
    "Default v2", … so that an earlier version can still score a run."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(Rubric.objects.none(), *args, empty_label=None, **kwargs)
        self.latest: set[int] = set()

    def limit_to(self, user: Any) -> None:
        # Shared rubrics first, then the user's own copies; each newest version first.
        self.queryset = Rubric.objects.visible_to(user).order_by(
            F("owner").asc(nulls_first=True), "name", "-version"
        )
        self.latest = {rubric.pk for rubric in selectors.latest_rubrics(user)}

    def label_from_instance(self, obj: Rubric) -> str:
        label = f"{obj.name} v{obj.version}"
        if not obj.is_shared:
            label += " · your copy"
        return label + (" (latest)" if obj.pk in self.latest else "")


JOBS_FROM_COLUMNS = "columns"
JOBS_FROM_SAVED = "saved"
# A mapping select's value for "score these candidates without a job".
WITHOUT_JOB = "__none__"
# The prefix of the mapping selects' names: "map:" + the position's title_key.
MAP_PREFIX = "map:"


def job_choice_from(data: Any, spec: IntakeSpec) -> services.JobsChoice | None:
    """The jobs a person chose on the check page: None for the file's own job columns;
    else the position column (the form, or the row checks' query) and what the page keeps
    server-side (`spec`, the file's IntakeSpec): the positions mapped by hand (a
    position's title_key → a saved job's title_key, "" for no job), and whether the
    positions that match no job are scored without one."""
    if data.get("jobs_from") != JOBS_FROM_SAVED:
        return None
    return services.JobsChoice(
        position_column=data.get("position_column") or "",
        mapping=dict(spec.job_map or {}),
        rest="" if spec.unmatched_without_job else None,
    )


_CHOOSE_ID = (
    "Choose the column with the candidate ID, or Row number if the file has none (the rows "
    "are then numbered)."
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
        error_messages={
            "required": _CHOOSE_ID,
            "invalid_choice": _CHOOSE_ID,
        },
    )
    rubric = RubricVersionField()
    model = forms.ChoiceField(label="AI model")
    notify_email = forms.EmailField(
        label="Email me when it is done", required=False, help_text="Leave empty for no email."
    )
    skip_invalid = forms.BooleanField(
        label="Leave out rows with problems and score the rest",
        required=False,
    )
    redact = forms.BooleanField(
        label="Hide e-mails, phone numbers, links and the candidate’s name from the AI",
        required=False,
        initial=True,
        help_text="They are replaced with [EMAIL], [PHONE], [URL] and [NAME] in the text the "
        "AI reads; your download keeps the original text.",
    )
    jobs_from = forms.ChoiceField(
        label="Each candidate's job comes from",
        choices=[
            (JOBS_FROM_COLUMNS, "This file's columns marked “Describes the job” (if any)"),
            (JOBS_FROM_SAVED, "Saved jobs, matched by the position column"),
        ],
        initial=JOBS_FROM_COLUMNS,
        required=False,
        widget=forms.RadioSelect,
    )
    position_column = forms.ChoiceField(
        label="Position column",
        required=False,
        help_text="The column that names the job each candidate applied for. Its values are "
        "matched to the saved jobs' titles; case and spacing do not matter.",
    )
    # Shown with the row checks, only when some row is too long for the AI model.
    long_rows = forms.ChoiceField(
        choices=[
            (services.LONG_ROWS_LEAVE_OUT, "Leave these rows out"),
            (services.LONG_ROWS_TRUNCATE, "Score their first part, marked “truncated”"),
        ],
        required=False,
        widget=forms.RadioSelect,
    )

    def __init__(
        self,
        *args: Any,
        header: list[str],
        models: list[str],
        initial_roles: dict[str, str],
        user: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.header = header
        self.user = user
        domains = settings.HRBATCH_NOTIFY_DOMAINS
        self.fields["notify_email"].help_text = (
            "Your own address"
            + (f" or one at {', '.join(domains)}" if domains else "")
            + ". Leave empty for no e-mail."
        )
        # Row number is a real choice (not an empty value), so that a file without an
        # ID column can be started as it is.
        self.fields["id_column"].choices = [(services.ROW_NUMBER, "Row number (no ID column)")] + [
            (c, c) for c in header if c != services.ROW_NUMBER
        ]
        self.fields["rubric"].limit_to(user)
        self.fields["model"].choices = [(m, m) for m in models]
        self.fields["position_column"].choices = [("", "— choose a column —")] + [
            (c, c) for c in header
        ]
        for index, column in enumerate(header):
            self.fields[f"role_{index}"] = forms.ChoiceField(
                label=column,
                choices=ROLE_CHOICES,
                initial=initial_roles.get(column, services.ROLE_MODEL),
                required=False,
            )

    def clean_notify_email(self) -> str:
        address = self.cleaned_data.get("notify_email") or ""
        refusal = services.notify_address_refusal(owner=self.user, address=address)
        if refusal:
            raise forms.ValidationError(refusal)
        return address

    def role_fields(self) -> list[forms.BoundField]:
        return [self[f"role_{i}"] for i in range(len(self.header))]

    def chosen_id_column(self) -> str | None:
        """The chosen ID column; None for Row number."""
        return services.id_column_from(self.cleaned_data.get("id_column"))

    def job_choice(self, spec: IntakeSpec) -> services.JobsChoice | None:
        return job_choice_from({**self.data.dict(), **self.cleaned_data}, spec)

    def roles(self) -> dict[str, str]:
        id_column = self.chosen_id_column()
        roles = {}
        for index, column in enumerate(self.header):
            if column == id_column:
                roles[column] = services.ROLE_ID
            else:
                roles[column] = self.cleaned_data.get(f"role_{index}") or services.ROLE_IGNORE
        return roles

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "id_column" not in data:
            return data  # its own message says what to choose
        id_column = self.chosen_id_column()
        for index, column in enumerate(self.header):
            if column != id_column and data.get(f"role_{index}") == services.ROLE_ID:
                self.add_error(
                    "id_column",
                    f"'{column}' is marked as the candidate ID, but the ID column chosen "
                    "here is different. Pick the ID column here.",
                )
                return data
        if data.get("jobs_from") == JOBS_FROM_SAVED and not data.get("position_column"):
            self.add_error(
                "position_column",
                "Choose the column that names the job each candidate applied for, to match "
                "it to the saved jobs.",
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


class JobForm(forms.Form):
    """A saved job typed or pasted in: its title and what it asks for."""

    # Not required here: the service says in plain words what is missing.
    title = forms.CharField(
        max_length=500,
        required=False,
        help_text="As the candidates' position column writes it (spacing and case aside): "
        "that is how candidates are matched to this job. A different title is a different job.",
    )
    description = forms.CharField(
        label="What the job asks for",
        required=False,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text="Paste the requirements, responsibilities and must-haves (skills, "
        "experience, qualifications). The AI reads this before every candidate of this job "
        "and scores them against it. Leave out age and other protected characteristics.",
    )


class JobsFileForm(forms.Form):
    file = forms.FileField(
        label="Jobs file (CSV)",
        help_text="One row per job: a “title” column and a “description” column.",
    )


class SiteUrlPasswordResetForm(PasswordResetForm):
    """Reset links point at SITE_URL, never at the Host header of the request that asked
    for them: a forged Host would otherwise mail the victim a link to the forger's site."""

    def save(self, **kwargs: Any) -> None:
        site = urlsplit(settings.SITE_URL)
        kwargs["domain_override"] = site.netloc  # the request's host is never consulted
        kwargs["use_https"] = site.scheme == "https"
        kwargs["extra_email_context"] = {
            **(kwargs.get("extra_email_context") or {}),
            "domain": site.netloc + site.path.rstrip("/"),  # SITE_URL may have a path
            "site_name": "hrbatch",
        }
        super().save(**kwargs)
