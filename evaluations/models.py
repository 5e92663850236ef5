"""The domain: Rubric, File, Run, Job, Item (see ../shared/DESIGN.md).

Models hold data and read-only helpers; every write goes through services (evaluations/services/).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from django.conf import settings
from django.db import models

from . import prompting


def _public_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(12)}"


def new_file_id() -> str:
    return _public_id("file-")


def new_batch_id() -> str:
    return _public_id("batch_")


class RubricQuerySet(models.QuerySet["Rubric"]):
    def visible_to(self, user: Any) -> RubricQuerySet:
        """Shared rubrics and the user's own copies; never another person's."""
        if user is None:
            return self.filter(owner=None)
        return self.filter(models.Q(owner=None) | models.Q(owner=user.pk))

    def lineage(self, rubric: Rubric) -> RubricQuerySet:
        """Every version of `rubric`: the same name and the same owner (or shared)."""
        return self.filter(name=rubric.name, owner=rubric.owner_id).order_by("-version")


class Rubric(models.Model):
    """One version of a scoring rubric. A version is frozen once a run used it.

    A rubric with no owner is shared: only staff change it, each change being a new
    version. Anyone else's edit becomes their own copy (owner = them), seen only by them.
    The versions of one rubric are those with the same name and owner.
    """

    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField(default=1)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="rubrics",
        help_text="Empty for a shared rubric; otherwise the one person who sees it.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who wrote this version (empty: seeded or from the command line).",
    )
    # The version this one was edited from (the previous one, or a shared rubric that a
    # personal copy started from): what the diff compares against.
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    instructions = models.TextField(help_text="System instructions given to the model.")
    # [{"key", "label", "description", "anchors": {"1", "4", "7", "10"}}]
    criteria = models.JSONField()
    rationale = models.BooleanField(default=False, help_text="Ask for a short rationale.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RubricQuerySet.as_manager()

    class Meta:
        constraints = [
            # NULLs are distinct in unique indexes, so shared and personal versions each
            # get their own constraint.
            models.UniqueConstraint(
                fields=["name", "version"],
                condition=models.Q(owner=None),
                name="rubric_shared_name_version",
            ),
            models.UniqueConstraint(
                fields=["owner", "name", "version"],
                condition=models.Q(owner__isnull=False),
                name="rubric_personal_name_version",
            ),
        ]
        ordering = ["name", "-version"]

    def __str__(self) -> str:
        if self.owner_id is None:
            return f"{self.name} v{self.version}"
        # Two people's copies (and the shared rubric) may share a name and a version.
        return f"{self.name} v{self.version} ({self.owner}'s copy)"

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None

    @property
    def criterion_keys(self) -> list[str]:
        return [c["key"] for c in self.criteria]

    @property
    def is_frozen(self) -> bool:
        return self.runs.exists()

    def may_edit(self, user: Any) -> bool:
        """Whether `user`'s edit changes this rubric (else it becomes their own copy)."""
        if user is None:
            return True  # the command line and migrations act as the administrator
        return bool(user.is_staff) if self.is_shared else self.owner_id == user.pk

    def previous(self) -> Rubric | None:
        """The version this one is compared with: the one it was edited from, else the
        next lower version of the same rubric."""
        if self.based_on_id:
            return self.based_on
        return (
            Rubric.objects.lineage(self).filter(version__lt=self.version).order_by("-version")
        ).first()


class File(models.Model):
    """A file on disk under the data directory, uploaded or produced by a run."""

    class Purpose(models.TextChoices):
        BATCH = "batch"
        BATCH_OUTPUT = "batch_output"
        BATCH_ERROR = "batch_error"
        CANDIDATES = "candidates"
        SCORED_CSV = "scored_csv"

    id = models.CharField(primary_key=True, max_length=40, default=new_file_id, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    filename = models.CharField(max_length=255)
    # Relative to settings.DATA_DIR.
    path = models.CharField(max_length=500)
    bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Deleted through the API: the bytes are gone, the row stays for the runs that used it.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # A candidate file's check page: what the person chose so far (IntakeSpec), until Start
    # or Delete. Read and written only through `spec`.
    intake = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.id})"

    @property
    def abspath(self) -> Path:
        return Path(settings.DATA_DIR) / self.path

    @property
    def spec(self) -> IntakeSpec:
        return IntakeSpec.from_json(self.intake)


class ColumnRole(models.TextChoices):
    """What a run does with each column of a candidate file (RunColumns.roles)."""

    ID = "id", "Candidate ID"
    MODEL = "model", "Show to the AI"
    # Shown in the results beside the scores, never to the model. Stored as "audit", its
    # name before audit-only columns existed.
    RESULTS = "audit", "Keep in results only"
    # A protected characteristic: never shown to the model nor in the results table, used
    # only for the adverse-impact report.
    AUDIT_ONLY = "audit_only", "Audit only (fairness report)"
    # What the job asks for (its title, requirements): the candidates of one job are
    # scored against its text, given to the model once per job before the candidate.
    JOB = "job", "Describes the job"
    IGNORE = "ignore", "Ignore"


@dataclasses.dataclass
class RunOptions:
    """The settings a run is scored with, stored in `Run.options` (JSON).

    The one place that reads and writes that JSON: everything else uses `run.opts` and
    `run.opts = …`. A field left at None is not stored, so the stored JSON keeps the shape
    it always had, and keys this version does not know survive a read and a write.
    """

    # Candidates per request (rubric runs).
    pack_size: int = 1
    # How the model writes its scores (prompting.ANSWER_FORMATS), fixed when the run
    # first starts (HRBATCH_ANSWER_FORMAT) so a resumed run keeps it; None: "keyed", the
    # only format before there was a choice.
    answer_format: str | None = None
    # Sampling and model context, set when the run starts.
    seed: int | None = None
    temperature: float | None = None
    num_ctx: int | None = None
    num_predict: int | None = None
    keep_alive: str | int | float | None = None
    # Every Nth candidate is also scored alone when pack_size > 1 (metrics.pack_agreement).
    agreement_stride: int | None = None
    # Every Nth candidate is scored again with another seed and its fields in reverse
    # order: the run's consistency (selectors.consistency_report).
    consistency_stride: int | None = None
    # A run with copies (copy_count): the rows of its samples, drawn from its distinct
    # candidates (every Nth of them) rather than every Nth row.
    agreement_lines: list[int] | None = None
    consistency_lines: list[int] | None = None
    # How many candidates the run's shortlist holds (None: selectors.shortlist_size's
    # default); the adverse-impact report's "selected" on the shortlist basis.
    shortlist_size: int | None = None
    # Which process created the run ("host:pid:start"), for orphaned runs.
    created_by: str | None = None
    # How the server took the answer's JSON schema (OpenAI-compatible: json_schema or
    # json_object), said on the run page.
    structured_output: str | None = None
    # Shown with the results, e.g. that the embedded demo model is not for hiring decisions.
    notice: str | None = None
    # Requests in flight per worker task, and where that figure came from in words
    # ("measured by probe_backend on …"): decided at start (selectors.concurrency_for).
    concurrency: int | None = None
    concurrency_source: str | None = None
    # True: the Items go out in the file's order, jobs interleaved, rather than job by job
    # (services.runs.run_dispatch). Only bench/jobs_cache.py sets it, to measure what the
    # grouping gains (the server's prompt cache keeps one job's prefix).
    jobs_interleaved: bool | None = None
    # Ingest figures: rows left out, and bytes that could not be decoded.
    rejected_count: int | None = None
    # Rows that repeat an earlier row's candidate for the same job (Item.copy_of): never
    # sent to the model, they take its scores.
    copy_count: int | None = None
    unreadable: str | None = None
    unreadable_chars: int | None = None
    # E-mails, phone numbers, links and names hidden from the model in the jobs' text
    # (each job counted once), and in how many jobs (intake.rows.JobRedaction).
    job_redacted: int | None = None
    jobs_redacted: int | None = None
    # API batches: what the caller asked for, and what validation found.
    endpoint: str | None = None
    completion_window: str | None = None
    metadata: dict[str, str] | None = None
    max_messages: int | None = None
    max_tokens: int | None = None
    model_line: int | None = None
    # Keys written by another version of hrbatch, kept as they are.
    unknown: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> RunOptions:
        data = dict(data or {})
        names = {f.name for f in dataclasses.fields(cls)} - {"unknown"}
        known = {key: data.pop(key) for key in list(data) if key in names}
        return cls(**known, unknown=data)

    def to_json(self) -> dict[str, Any]:
        out = dict(self.unknown)
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != "unknown" and value is not None:
                out[f.name] = value
        return out

    def replace(self, **changes: Any) -> RunOptions:
        return dataclasses.replace(self, **changes)


class JsonBag:
    """The typed view of a JSON field, as RunOptions is: read from and written to a dict,
    a field left at None not stored, and keys this version does not know (`unknown`) kept
    as they are through a read and a write. (RunOptions has the same three methods of its
    own, from before this class.)"""

    unknown: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Self:
        data = dict(data or {})
        names = {f.name for f in dataclasses.fields(cls)} - {"unknown"}  # type: ignore[arg-type]
        known = {key: data.pop(key) for key in list(data) if key in names}
        return cls(**known, unknown=data)

    def to_json(self) -> dict[str, Any]:
        out = dict(self.unknown)
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.name != "unknown" and value is not None:
                out[f.name] = value
        return out

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclasses.dataclass
class IntakeSpec(JsonBag):
    """What a person chose on an upload's check page, kept with the File (`File.intake`)
    until the run is started or the upload deleted: going to "Type this job" and back, or
    reloading, finds every choice as it was left. Values are kept as the page sent them;
    the page checks them again when it reads them back (a column may not exist in the
    file any more, a rubric may be gone)."""

    encoding: str | None = None
    # A column's name, or intake.ROW_NUMBER for "Row number".
    id_column: str | None = None
    # Column name -> ColumnRole value.
    roles: dict[str, str] | None = None
    rubric: int | None = None
    model: str | None = None
    name: str | None = None
    notify_email: str | None = None
    skip_invalid: bool | None = None
    redact: bool | None = None
    long_rows: str | None = None
    # Where the candidates' jobs come from ("columns" or "saved"), and the position column.
    jobs_from: str | None = None
    position_column: str | None = None
    # Positions mapped by hand: a position's title_key -> the title_key of the saved job it
    # is scored against ("" for none). Kept here rather than posted with Start, so that a
    # file with thousands of positions never sends thousands of fields.
    job_map: dict[str, str] | None = None
    # "Score every unmatched position without a job": positions that match no saved job
    # and were not mapped by hand are scored on the rubric alone.
    unmatched_without_job: bool | None = None
    unknown: dict[str, Any] = dataclasses.field(default_factory=dict)


# What to do with the rows too long for the AI model (RunColumns.long_rows): "" refuses
# Start (the check page and `evaluate` ask), these leave them out or score their first part.
LONG_ROWS_LEAVE_OUT = "leave_out"
LONG_ROWS_TRUNCATE = "truncate"


@dataclasses.dataclass
class RunColumns(JsonBag):
    """How a candidate-file run reads its file, stored in `Run.columns` (JSON) and read and
    written only through `run.intake`: what a person chose (the check page's or
    `evaluate`'s IntakeSpec, with the saved jobs resolved), and, once the ingest has read
    the file, the layout it found. Each default is here, once: a run hides identity from
    the model unless someone switched it off."""

    # The candidate ID column; None: the rows are numbered (row-2, row-3, …).
    id_column: str | None = None
    # Column name -> ColumnRole value (id, model, audit, audit_only, job, ignore); None
    # until chosen: the ingest proposes them (intake.proposals.proposed_roles).
    roles: dict[str, str] | None = None
    skip_invalid: bool = False
    long_rows: str = ""  # "", LONG_ROWS_LEAVE_OUT or LONG_ROWS_TRUNCATE
    redact: bool = True
    # The encoding chosen ("": guessed), then the one the ingest read the file with.
    encoding: str = ""
    # Candidates matched to saved jobs by their position column, as stored at Start
    # (services.jobs.JobsChoice.for_run): {"position_column", "map": {position title_key:
    # the saved Job's pk or None for without a job}, "rest": a pk for every other position}.
    jobs: dict[str, Any] | None = None
    # The file as the ingest read it.
    encoding_label: str | None = None
    delimiter: str | None = None
    delimiter_label: str | None = None
    header: list[str] = dataclasses.field(default_factory=list)
    unknown: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """As JsonBag, but the ID column, the roles and the jobs are stored even when None
        (numbered rows, roles to propose, no saved jobs): the shape runs always had."""
        out = super().to_json()
        for name in ("id_column", "roles", "jobs"):
            out.setdefault(name, getattr(self, name))
        return out

    @property
    def truncates(self) -> bool:
        """Rows too long for the model are scored on their first part (marked truncated)."""
        return self.long_rows == LONG_ROWS_TRUNCATE

    @property
    def position_column(self) -> str:
        return str((self.jobs or {}).get("position_column") or "")

    def columns_of(self, role: str) -> list[str]:
        """The file's columns with this ColumnRole, in the file's order."""
        roles = self.roles or {}
        return [column for column in self.header if roles.get(column) == role]


RunAction = Literal["pause", "resume", "cancel", "retry_failed", "redispatch"]


class RunQuerySet(models.QuerySet["Run"]):
    def that_may(self, action: RunAction) -> RunQuerySet:
        """The runs whose status allows `action` (see Run.ALLOWED_FROM): services use it
        in conditional UPDATEs, so two people acting at once cannot both succeed."""
        return self.filter(status__in=Run.ALLOWED_FROM[action])


class Run(models.Model):
    """One evaluation job: a CSV scored on a rubric, or a batch of raw chat requests."""

    class Kind(models.TextChoices):
        RUBRIC = "rubric"
        BATCH = "batch"

    class Status(models.TextChoices):
        VALIDATING = "validating"
        IN_PROGRESS = "in_progress"
        FINALIZING = "finalizing"
        COMPLETED = "completed"
        FAILED = "failed"
        PAUSED = "paused"
        CANCELLING = "cancelling"
        CANCELLED = "cancelled"
        EXPIRED = "expired"

    LIVE_STATUSES = (Status.VALIDATING, Status.IN_PROGRESS, Status.FINALIZING, Status.CANCELLING)
    TERMINAL_STATUSES = (Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.EXPIRED)

    # The status transitions a person (web, API, CLI, admin) may ask for, and the statuses
    # each may start from. Defined here once: services check them (Run.objects.that_may in
    # their UPDATEs), templates show buttons by `run.can_pause` & co., the API and the
    # admin ask the same properties.
    ALLOWED_FROM: ClassVar[dict[str, tuple[str, ...]]] = {
        # Workers finish the requests in flight, then leave the rest pending.
        "pause": (Status.VALIDATING, Status.IN_PROGRESS),
        "resume": (Status.PAUSED,),
        # What is done stays done, the rest is cancelled, the outputs are written.
        "cancel": (Status.VALIDATING, Status.IN_PROGRESS, Status.PAUSED),
        # Failed Items get fresh attempts; a completed run reopens.
        "retry_failed": (Status.COMPLETED, Status.IN_PROGRESS, Status.PAUSED),
        # Enqueue tasks again for unclaimed Items (after a crash lost the broker's queue).
        "redispatch": (Status.IN_PROGRESS,),
    }

    public_id = models.CharField(max_length=40, unique=True, default=new_batch_id, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="runs",
    )
    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.RUBRIC)
    input_file = models.ForeignKey(File, on_delete=models.PROTECT, related_name="+")
    rubric = models.ForeignKey(
        Rubric, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )

    backend = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=200)
    model_digest = models.CharField(max_length=100, blank=True)
    prompt_hash = models.CharField(max_length=64, blank=True)
    # Read and written only through `opts` (RunOptions above).
    options = models.JSONField(default=dict, blank=True)
    # How a candidate file is read (its layout, column roles, the choices made at intake):
    # read and written only through `intake` (RunColumns above).
    columns = models.JSONField(default=dict, blank=True)

    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.VALIDATING, db_index=True
    )
    # Why the run failed or was paused, in words for the person who started it.
    status_message = models.TextField(blank=True)
    # [{"code", "message", "line"}] found while validating the input.
    errors = models.JSONField(default=list, blank=True)

    total_count = models.PositiveIntegerField(default=0)
    done_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    cancelled_count = models.PositiveIntegerField(default=0)
    # Candidates never sent to the model (too little text to score), set at ingest.
    skipped_count = models.PositiveIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    cached_tokens = models.BigIntegerField(default=0)
    prompt_eval_ns = models.BigIntegerField(default=0)
    # E-mails, phone numbers, links and names hidden from the model in the candidates' text
    # (evaluations.model_view); per candidate in Item.result["redacted"].
    redacted_count = models.BigIntegerField(default=0)
    # Answers the model padded with whitespace its server's grammar let through (a server
    # that takes only the schema: Ollama, vLLM): tokens spent on nothing, said on the run.
    padded_answers = models.PositiveIntegerField(default=0)
    # Longest candidate prompt seen at ingest, in characters (sizes num_ctx).
    max_input_chars = models.PositiveIntegerField(default=0)

    notify_email = models.EmailField(blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    output_file = models.ForeignKey(
        File, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error_file = models.ForeignKey(
        File, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    created_at = models.DateTimeField(auto_now_add=True)
    in_progress_at = models.DateTimeField(null=True, blank=True)
    finalizing_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # When scoring last (re)started, and the time spent paused before it: the elapsed time
    # and the speed count only the time the run was scoring.
    resumed_at = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.FloatField(default=0.0)
    cancelling_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    last_progress_at = models.DateTimeField(null=True, blank=True)
    # The LLM server stopped answering at this time (the workers keep probing and go on
    # by themselves); the message says where and what to do. Cleared when it answers.
    outage_since = models.DateTimeField(null=True, blank=True)
    outage_message = models.TextField(blank=True)
    # Held while the run has not ended by a run that must not be started twice, e.g.
    # "cli:<sha256 of the file>" for `evaluate`: the unique constraint makes a second
    # start of the same input attach to this run instead of scoring it all again.
    dedupe_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    # When the failed Items got their one automatic second pass at the end of the run.
    second_pass_at = models.DateTimeField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name or self.public_id

    def may(self, action: RunAction) -> bool:
        return self.status in self.ALLOWED_FROM[action]

    @property
    def can_pause(self) -> bool:
        return self.may("pause")

    @property
    def can_resume(self) -> bool:
        return self.may("resume")

    @property
    def can_cancel(self) -> bool:
        return self.may("cancel")

    @property
    def can_retry_failed(self) -> bool:
        return self.may("retry_failed")

    @property
    def opts(self) -> RunOptions:
        """The run's options, typed (a fresh copy: assign it back to change them)."""
        return RunOptions.from_json(self.options)

    @opts.setter
    def opts(self, value: RunOptions) -> None:
        self.options = value.to_json()

    @property
    def intake(self) -> RunColumns:
        """How the run reads its candidate file, typed (a fresh copy: assign it back)."""
        return RunColumns.from_json(self.columns)

    @intake.setter
    def intake(self, value: RunColumns) -> None:
        self.columns = value.to_json()

    STATUS_LABELS = {
        Status.VALIDATING: "Reading the file",
        Status.IN_PROGRESS: "Scoring",
        Status.FINALIZING: "Writing results",
        Status.COMPLETED: "Finished",
        Status.FAILED: "Failed",
        Status.PAUSED: "Paused",
        Status.CANCELLING: "Cancelling",
        Status.CANCELLED: "Cancelled",
        Status.EXPIRED: "Expired",
    }

    @property
    def status_label(self) -> str:
        """The status in words for the person who started the run."""
        return self.STATUS_LABELS.get(self.status, self.status)

    @property
    def percent(self) -> float:
        """Share of the candidates to score that were processed (scored or failed);
        cancelled ones never were, and those with too little text are not to be scored."""
        processed = self.done_count + self.failed_count
        to_score = self.total_count - self.skipped_count
        if to_score <= 0:  # nothing to score: all there is to do is done
            return 100.0 if self.total_count else 0.0
        return round(100.0 * processed / to_score, 1)

    @property
    def finished_count(self) -> int:
        return self.done_count + self.failed_count + self.cancelled_count + self.skipped_count

    @property
    def pending_count(self) -> int:
        return max(self.total_count - self.finished_count, 0)

    def job_labels(self) -> dict[int, str]:
        """The run's jobs named for people, in the order of their names: a job's title, or,
        where two jobs share a title (same title, other requirements), the title numbered
        ("Nurse #1", "Nurse #2", oldest first) so that a filter or a download tells them
        apart. Empty for a run without jobs."""
        jobs = list(Job.objects.filter(run_id=self.pk).order_by("id").values_list("pk", "title"))
        shared = Counter(title for _, title in jobs)
        nth: Counter[str] = Counter()
        labels = {}
        for pk, title in jobs:
            if shared[title] > 1:
                nth[title] += 1
                labels[pk] = f"{title} #{nth[title]}"
            else:
                labels[pk] = title
        return dict(sorted(labels.items(), key=lambda kv: (kv[1].casefold(), kv[0])))

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE_STATUSES

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL_STATUSES

    @property
    def pack_size(self) -> int:
        return int(self.opts.pack_size)

    @property
    def answer_format(self) -> str:
        """How the model writes its scores in this run (prompting.ANSWER_FORMATS); runs
        from before there was a choice wrote "keyed" objects."""
        return self.opts.answer_format or "keyed"


class JobQuerySet(models.QuerySet["Job"]):
    def saved(self) -> JobQuerySet:
        """Jobs kept for reuse (typed in the web app or read from a jobs file), every
        version, everyone's; a run's own jobs are copies made when it started."""
        return self.filter(run=None)

    def visible_to(self, user: Any) -> JobQuerySet:
        """The saved jobs a person sees and may use: the team's (shared) and their own
        copies; never another person's copy. None: the command line, the team's only."""
        if user is None:
            return self.saved().filter(owner=None)
        return self.saved().filter(models.Q(owner=None) | models.Q(owner=user.pk))

    def latest_saved(self) -> JobQuerySet:
        """The newest version of each saved job (a job: its title and its owner, or none
        for the team's)."""

        def newer(owner: Any) -> models.Exists:
            return models.Exists(
                Job.objects.filter(
                    run=None,
                    title_key=models.OuterRef("title_key"),
                    owner=owner,
                    version__gt=models.OuterRef("version"),
                )
            )

        # In SQL, NULL never equals NULL: the team's jobs (no owner) are compared apart.
        return self.saved().filter(
            models.Q(owner__isnull=True) & ~newer(None)
            | models.Q(owner__isnull=False) & ~newer(models.OuterRef("owner"))
        )

    def lineage(self, job: Job) -> JobQuerySet:
        """Every version of a saved job: the same title (spacing and case aside) and the
        same owner (or the team's), newest first."""
        return self.saved().filter(title_key=job.title_key, owner=job.owner_id).order_by("-version")


class Job(models.Model):
    """A job that candidates applied for: its title and what it asks for. The candidates of
    one job are scored against its text, the same bytes for each of them, so the server
    keeps that prompt prefix cached.

    Two kinds, one table:
    - a run's job (`run` set): the text exactly as the model read it
      (prompting.job_section), made when the run read its file: from the file's job
      columns, or copied from a saved job (`based_on`), so later edits never change what
      a finished run was scored against;
    - a saved job (`run` empty), kept for reuse: typed or pasted in the web app, or read
      from a jobs file. Governed like rubrics, since its text is part of the model's
      instructions: a job with no owner is the team's, changed only by staff (and the
      command line); anyone else's edit or import is their own copy (owner = them), which
      only they see and which scores only their runs. Versioned: every change is a new
      version with who made it, and the versions of one job share its title (spacing and
      case aside, `title_key`) and its owner. Its `description` is what the job asks for,
      as written; the model reads it after "Job: <title>" (`model_text`).
    """

    title = models.CharField(max_length=500)
    # A run's job: its text as the model reads it ("Job: <title>", then what it asks for).
    # A saved job: what it asks for, as a person wrote it.
    description = models.TextField()
    # A run's job: sha256 of the text with its whitespace and case evened out: rows whose
    # job columns say the same thing share one Job.
    key = models.CharField(max_length=64, db_index=True)
    # The title with its spacing and case evened out: how a candidate's position is matched
    # to a saved job, and what the versions of one saved job share.
    title_key = models.CharField(max_length=500, db_index=True, blank=True, default="")
    version = models.PositiveIntegerField(default=1)
    run = models.ForeignKey(
        "Run", null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="jobs",
        help_text="Empty for the team's saved job; otherwise the one person who sees and uses "
        "this copy.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who wrote or imported this version (empty: from the command line).",
    )
    # A saved job: the version this one was edited from. A run's job: the saved version
    # it was copied from.
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "key"], condition=models.Q(run__isnull=False), name="job_run_key"
            ),
            # NULLs are distinct in unique indexes: the team's jobs and personal copies
            # each get their own constraint (as rubrics do).
            models.UniqueConstraint(
                fields=["title_key", "version"],
                condition=models.Q(run__isnull=True, owner__isnull=True),
                name="job_saved_title_version",
            ),
            models.UniqueConstraint(
                fields=["owner", "title_key", "version"],
                condition=models.Q(run__isnull=True, owner__isnull=False),
                name="job_personal_title_version",
            ),
        ]
        ordering = ["title", "id"]

    def __str__(self) -> str:
        if self.run_id:
            return self.title
        if self.owner_id is None:
            return f"{self.title} v{self.version}"
        return f"{self.title} v{self.version} ({self.owner}'s copy)"

    @property
    def is_shared(self) -> bool:
        """A saved job of the whole team (not a person's own copy)."""
        return self.owner_id is None

    def may_edit(self, user: Any) -> bool:
        """Whether `user`'s edit makes a new version of this job (else it becomes their
        own copy): staff for the team's jobs, the owner for a copy."""
        if user is None:
            return True  # the command line acts as the administrator
        return bool(user.is_staff) if self.is_shared else self.owner_id == user.pk

    @property
    def model_text(self) -> str:
        """The job's text as the model reads it."""
        if self.run_id:
            return self.description
        return prompting.saved_job_text(self.title, self.description)

    def previous(self) -> Job | None:
        """A saved job's version this one is compared with: the one it was edited from
        (which may carry another title, when the edit renamed the job), else the next
        lower version of the same job."""
        if self.based_on_id and self.based_on is not None and self.based_on.run_id is None:
            return self.based_on
        return Job.objects.lineage(self).filter(version__lt=self.version).first()


class Decision(models.TextChoices):
    """What a person decided about a candidate (the model only scores)."""

    ADVANCE = "advance", "Advance"
    HOLD = "hold", "Hold"
    REJECT = "reject", "Reject"


class OrderedJSONField(models.JSONField):
    """A JSONField that gives an object's keys back in the order they were written, on
    every database: PostgreSQL's `jsonb` keeps them in an order of its own (shorter keys
    first), so the column is `json` there, which keeps the text as written. For what is
    sent to a model as it came: a request line's JSON schema, whose properties are answered
    in the order they are listed ({"reasoning", "score"} must not become {"score",
    "reasoning"}). No lookup that needs `jsonb` (has_key, containment) may use it."""

    def db_type(self, connection: Any) -> str | None:
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if connection.vendor != "postgresql":
            return super().get_db_prep_value(value, connection, prepared)
        from psycopg.types.json import Json

        return Json(value if prepared else self.get_prep_value(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        # psycopg decodes `json` itself (in order); Django's JSONField expects text.
        if value is not None and not isinstance(value, str):
            return value
        return super().from_db_value(value, expression, connection)


class Item(models.Model):
    """One candidate (rubric run) or one request line (batch run)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"
        # Never sent to the model: too little text to score (flags.TOO_LITTLE_TEXT).
        SKIPPED = "skipped", "Not scored"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="items")
    line = models.PositiveIntegerField(
        help_text="Row number in the CSV (header = 1) or JSONL line."
    )
    custom_id = models.CharField(max_length=255)
    # Candidate fields shown to the model (rubric) or the request line (batch), in the
    # order they were written on every database.
    input = OrderedJSONField()
    # Columns kept for the output but never sent to the model (audit-only, ignored).
    extra = models.JSONField(default=dict, blank=True)
    # The job the candidate applied for (the file's job columns), scored against its text.
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    # A copy of an earlier row: the same text for the same job, spacing and case aside
    # (intake.candidate_key). It is never sent to the model: it takes its first row's
    # scores (or failure) when that row is done, and results and shortlists list it with
    # that row. Set at ingest; the first row's erasure makes the copy stand alone.
    copy_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A claimed Item carries its worker's token until lease_until; an Item waiting to be
    # retried carries no token and is not claimable before lease_until.
    lease_token = models.CharField(max_length=32, null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Which process holds the lease ("host:pid:start time"): on its own machine a dead
    # holder is seen at once, so its Items need not wait for lease_until.
    lease_holder = models.CharField(max_length=120, blank=True)

    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    # What a person should look at, found in the candidate's text at ingest (evaluations.flags):
    # codes separated by ";", as in the scored CSV's `flags` column.
    flags = models.CharField(max_length=200, blank=True, default="")
    # A person's decision on the candidate and their note: the latest of `decisions`
    # (every change is kept there, with who and when).
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    cached_tokens = models.PositiveIntegerField(null=True, blank=True)
    prompt_eval_ns = models.BigIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "custom_id"], name="item_run_custom_id"),
            models.UniqueConstraint(fields=["run", "line"], name="item_run_line"),
        ]
        indexes = [
            models.Index(fields=["run", "status"], name="item_run_status"),
            models.Index(fields=["run", "finished_at"], name="item_run_finished"),
            # The sweep looks for leases that ran out; only leased Items are indexed.
            models.Index(
                fields=["lease_until"],
                name="item_leased_until",
                condition=models.Q(lease_token__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.custom_id}"

    # Where a rubric Item's result keeps the scores of its rechecks (engine.handlers):
    # scored alone when it was scored in a pack, and scored again with another seed and
    # its fields in reverse order (the run's consistency sample). A batch line's result
    # (its chat.completion) keeps under RECHECK_SCORES the content of the answer to the
    # same request with another seed.
    SINGLE_SCORES = "single_scores"
    RECHECK_SCORES = "recheck_scores"
    RECHECK_KEYS = frozenset({SINGLE_SCORES, RECHECK_SCORES})

    @property
    def scores(self) -> dict[str, Any]:
        return (self.result or {}).get("scores", {})


class ApiKey(models.Model):
    """A Bearer key for the /v1 API. Only its SHA-256 is stored; the key is shown once.

    Keys are 256-bit random tokens, so a fast hash is enough: there is nothing to guess.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    # The first characters, to recognise a key in lists without storing it.
    prefix = models.CharField(max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ItemDecision(models.Model):
    """One change of a person's decision or note on a candidate: who, when, what. Never
    changed or deleted (the record a candidate, a manager or a regulator may ask for)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="decisions")
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    note = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return (
            f"{self.item} {self.decision or 'no decision'} by {self.by} at {self.at:%Y-%m-%d %H:%M}"
        )


class Explanation(models.Model):
    """Why the model gave a candidate their stored scores, asked for on demand (explain.py):
    per criterion a rationale, a quote from the text the model saw, and the score it would
    give itself. Kept with what produced it, so it can be shown as evidence later."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="explanations")
    model = models.CharField(max_length=200)
    backend = models.CharField(max_length=20, blank=True)
    rubric = models.ForeignKey(
        Rubric, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    prompt_hash = models.CharField(max_length=64, blank=True)
    # {criterion: {"rationale", "evidence", "would_score", "stored_score", "evidence_found"}}
    criteria = models.JSONField(default=dict)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Explanation of {self.item} by {self.model}"

    @property
    def disagreements(self) -> list[str]:
        """The criteria whose stored score the model would now not give."""
        return [
            key
            for key, part in self.criteria.items()
            if part.get("would_score") != part.get("stored_score")
        ]


class BackendProbe(models.Model):
    """One `manage.py probe_backend` measurement: the throughput at each concurrency and
    the knee chosen, for one backend, model and place (hosts or base URLs).
    `HRBATCH_CONCURRENCY=auto` uses the newest one that matches a run (selectors)."""

    backend = models.CharField(max_length=20)
    # Where the model runs: Ollama hosts or base URLs, comma-separated (Backend.where).
    where = models.CharField(max_length=500, blank=True)
    model = models.CharField(max_length=200)
    concurrency = models.PositiveIntegerField()
    # [{"concurrency", "requests", "errors", "seconds", "req_per_s", "p50_ms", "p95_ms",
    #   "output_tok_s", "prompt_tokens", "output_tokens"}] (probe.Step)
    table = models.JSONField(default=list)
    # num_ctx, num_predict, whether the maximum was reached, server slots, GPU memory.
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["backend", "model", "where"], name="probe_lookup")]

    def __str__(self) -> str:
        return f"{self.backend} {self.model}: {self.concurrency} in flight"
