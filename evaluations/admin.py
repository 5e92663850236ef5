"""Django admin: runs, items, rubrics and files; actions call the same services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from . import services
from .models import (
    ApiKey,
    BackendProbe,
    Explanation,
    File,
    Item,
    ItemDecision,
    Job,
    Rubric,
    Run,
)


@admin.register(Rubric)
class RubricAdmin(admin.ModelAdmin):
    """The history of every rubric: who wrote each version, when, and what changed.

    Read-only here: changes go through the rubric editor (services.rubric_save), which keeps
    every version and records its author; editing a version in place would rewrite history.
    """

    list_display = ("name", "version", "sharing", "created_by", "created_at", "changes")
    list_filter = (("owner", admin.EmptyFieldListFilter), "name")
    list_select_related = ("owner", "created_by")
    search_fields = ("name", "created_by__username", "owner__username")
    fields = (
        "name",
        "version",
        "sharing",
        "created_by",
        "created_at",
        "changes",
        "editor",
        "history",
        "instructions",
        "criteria",
        "rationale",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # new rubrics and versions come from the rubric editor

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the history stays whole; a version no run used harms nobody

    @admin.display(description="Shared or whose copy", ordering="owner")
    def sharing(self, rubric: Rubric) -> str:
        return "Shared" if rubric.is_shared else f"Copy of {rubric.owner}"

    @admin.display(description="Changes")
    def changes(self, rubric: Rubric) -> SafeString | str:
        if rubric.previous() is None:
            return "First version"
        url = reverse("web:rubric_diff", args=[rubric.pk])
        return format_html('<a href="{}">What changed</a>', url)

    @admin.display(description="Edit")
    def editor(self, rubric: Rubric) -> SafeString:
        url = reverse("web:rubric_edit", args=[rubric.pk])
        return format_html('<a href="{}">Open in the rubric editor</a> (saves a new version)', url)

    @admin.display(description="Versions")
    def history(self, rubric: Rubric) -> SafeString:
        rows = [
            (
                reverse("admin:evaluations_rubric_change", args=[v.pk]),
                f"v{v.version}",
                v.created_by or "—",
                v.created_at.strftime("%Y-%m-%d %H:%M"),
                self.changes(v),
            )
            for v in Rubric.objects.lineage(rubric).select_related("created_by")
        ]
        return format_html(
            "<table><thead><tr><th>Version</th><th>Written by</th><th>When (UTC)</th>"
            "<th>Changes</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "", '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>', rows
            ),
        )


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = ("id", "filename", "purpose", "bytes", "owner", "created_at")
    list_filter = ("purpose",)
    search_fields = ("id", "filename", "sha256")
    readonly_fields = ("id", "path", "bytes", "sha256", "created_at")


def _admin_link(run: Run) -> SafeString:
    url = reverse("admin:evaluations_run_change", args=[run.pk])
    return format_html('<a href="{}">{}</a>', url, run)


class RerunForm(forms.Form):
    """The choices of the "Rerun whole run as a new run" confirmation page: the version the
    run used, the newest one, or any version of the rubrics the chosen runs used."""

    USED = "used"
    NEWEST = "newest"

    rubric = forms.ChoiceField(
        choices=[
            (USED, "The rubric version the run used"),
            (NEWEST, "The newest version of that rubric"),
        ],
        initial=USED,
        widget=forms.RadioSelect,
    )
    model = forms.CharField(
        required=False,
        max_length=200,
        help_text="Leave blank to score with the same model as the original run.",
    )

    def __init__(self, *args: Any, runs: list[Run], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.versions: dict[str, Rubric] = {}
        for run in runs:
            if run.rubric is not None:
                for version in Rubric.objects.lineage(run.rubric).select_related("created_by"):
                    self.versions.setdefault(str(version.pk), version)
        field = self.fields["rubric"]
        field.choices = [
            *field.choices,
            *(
                (pk, f"{v}, written by {v.created_by or '—'} on {v.created_at:%Y-%m-%d %H:%M}")
                for pk, v in self.versions.items()
            ),
        ]

    def rubric_for(self, run: Run) -> Rubric | None:
        """The version to score `run` again with; None keeps the one it used."""
        choice = self.cleaned_data["rubric"]
        if choice == self.USED or run.rubric is None:
            return None
        if choice == self.NEWEST:
            return Rubric.objects.lineage(run.rubric).first()
        return self.versions[choice]


_RUN_FIELDS = tuple(f.name for f in Run._meta.get_fields() if f.concrete)
_RUN_LINKS = ("web_page", "scored_csv", "reruns")


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
        "rerun_of_link",
        "created_at",
    )
    list_filter = ("status", "kind", "backend", "owner")
    list_select_related = ("owner", "rerun_of")
    search_fields = ("public_id", "name")
    # The links first, then everything the run records; only the name is editable.
    fields = (
        "public_id",
        "name",
        *_RUN_LINKS,
        "rerun_of",
        *(f for f in _RUN_FIELDS if f not in ("public_id", "name", "rerun_of")),
    )
    readonly_fields = (*_RUN_LINKS, *(f for f in _RUN_FIELDS if f != "name"))
    actions = ("pause", "resume", "cancel", "retry_failed", "rerun")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a run starts from an upload (web, API or CLI), never an empty form

    def save_model(self, request: HttpRequest, obj: Run, form: Any, change: bool) -> None:
        # The name is the only editable field: rename through the service like the web
        # does (one line, no stray spaces); no name means the file's name again.
        if change and "name" in form.changed_data:
            services.run_rename(run=obj, name=obj.name or obj.input_file.filename)
        if set(form.changed_data) - {"name"}:
            super().save_model(request, obj, form, change)

    @admin.display(description="Rerun of", ordering="rerun_of")
    def rerun_of_link(self, run: Run) -> SafeString | None:
        return _admin_link(run.rerun_of) if run.rerun_of else None

    @admin.display(description="Run page")
    def web_page(self, run: Run) -> SafeString:
        url = reverse("web:run", args=[run.public_id])
        return format_html('<a href="{}">{}</a>', url, url)

    @admin.display(description="Scored CSV")
    def scored_csv(self, run: Run) -> SafeString | None:
        if run.kind != Run.Kind.RUBRIC or not run.intake.header:
            return None  # nothing was read from the file, so there is nothing to download
        url = reverse("web:run_download", args=[run.public_id]) + "?excel=1"
        return format_html('<a href="{}">Download the scored CSV (Excel)</a>', url)

    @admin.display(description="Reruns")
    def reruns(self, run: Run) -> SafeString | None:
        reruns = run.reruns.order_by("created_at")
        return format_html_join(", ", "{}", ((_admin_link(r),) for r in reruns)) or None

    @admin.action(description="Pause")
    def pause(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        count = sum(services.run_pause(run=run) for run in queryset.that_may("pause"))
        self.message_user(request, f"Paused {count} run(s).", messages.SUCCESS)

    @admin.action(description="Resume")
    def resume(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        count = sum(services.run_resume(run=run) for run in queryset.that_may("resume"))
        self.message_user(request, f"Resumed {count} run(s).", messages.SUCCESS)

    @admin.action(description="Cancel")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        count = sum(services.run_cancel(run=run) for run in queryset.that_may("cancel"))
        self.message_user(request, f"Cancelled {count} run(s).", messages.SUCCESS)

    @admin.action(description="Rerun failed items")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        counts = [services.run_retry_failed(run=run) for run in queryset.that_may("retry_failed")]
        total, runs = sum(counts), sum(1 for c in counts if c)
        if total:
            self.message_user(
                request, f"Trying {total} failed item(s) again in {runs} run(s).", messages.SUCCESS
            )
        else:
            self.message_user(
                request,
                "No failed items to try again (only running, paused or completed runs can).",
                messages.WARNING,
            )

    @admin.action(description="Rerun whole run as a new run")
    def rerun(self, request: HttpRequest, queryset: QuerySet[Run]) -> TemplateResponse | None:
        runs = list(queryset.select_related("rubric", "owner"))
        if "apply" in request.POST:
            form = RerunForm(request.POST, runs=runs)
            if form.is_valid():
                self._rerun(request, runs, form)
                return None  # back to the list, where the messages link to the new runs
        else:
            models = {run.model for run in runs}
            form = RerunForm(initial={"model": models.pop() if len(models) == 1 else ""}, runs=runs)
        rows = [
            {
                "run": run,
                "newest": Rubric.objects.lineage(run.rubric).first() if run.rubric else None,
            }
            for run in runs
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Rerun as new runs",
            "opts": self.model._meta,
            "rows": rows,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action": "rerun",
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/evaluations/run/rerun.html", context)

    def _rerun(self, request: HttpRequest, runs: list[Run], form: RerunForm) -> None:
        model = form.cleaned_data["model"].strip() or None
        started: list[tuple[Run, Run]] = []
        for run in runs:
            try:
                new = services.run_rerun(run=run, rubric=form.rubric_for(run), model=model)
            except services.InputError as exc:
                self.message_user(request, f"{run}: {exc.message}", messages.ERROR)
                continue
            started.append((run, new))
        if started:
            self.message_user(
                request,
                format_html(
                    "Started {} new run(s): {}",
                    len(started),
                    format_html_join(
                        "; ",
                        "{} (rerun of {})",
                        ((_admin_link(new), original) for original, new in started),
                    ),
                ),
                messages.SUCCESS,
            )


class RunListFilter(admin.SimpleListFilter):
    """Items by run. The choices are the newest runs (and the chosen one), not every run ever
    made; any run can be picked with ?run__id__exact=<id>, the same URL as a plain filter."""

    title = "run"
    parameter_name = "run__id__exact"
    CHOICES = 30

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        runs = list(Run.objects.only("id", "name", "public_id")[: self.CHOICES])
        chosen = self.value()
        if chosen and chosen.isdigit() and all(str(r.pk) != chosen for r in runs):
            runs += Run.objects.only("id", "name", "public_id").filter(pk=int(chosen))
        return [(str(r.pk), f"{r.pk}: {r}") for r in runs]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Item]) -> QuerySet[Item]:
        chosen = self.value()
        if chosen is None:
            return queryset
        if not chosen.isdigit():
            raise IncorrectLookupParameters(f"Not a run id: {chosen!r}")
        return queryset.filter(run_id=int(chosen))


class ItemDecisionInline(admin.TabularInline):
    """Every change of a person's decision or note: kept, never edited here."""

    model = ItemDecision
    extra = 0
    fields = ("at", "by", "decision", "note")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ExplanationInline(admin.StackedInline):
    model = Explanation
    extra = 0
    fields = ("created_at", "model", "rubric", "prompt_hash", "requested_by", "criteria")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = (
        "custom_id",
        "run",
        "job",
        "line",
        "status",
        "decision",
        "attempts",
        "latency_ms",
        "finished_at",
    )
    list_filter = ("status", "decision", RunListFilter)
    inlines = (ItemDecisionInline, ExplanationInline)
    search_fields = ("custom_id",)
    readonly_fields = tuple(f.name for f in Item._meta.get_fields() if f.concrete)
    list_select_related = ("run", "job")
    show_full_result_count = False  # counting 170,000 rows on every page is slow

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # Items come from ingesting a run's file


class JobKindFilter(admin.SimpleListFilter):
    """Saved jobs (kept for reuse, versioned) or the copies runs made of the jobs they
    scored against."""

    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("saved", "Saved (kept for reuse)"), ("run", "A run's copy")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> QuerySet[Job]:
        if self.value() == "saved":
            return queryset.filter(run=None)
        if self.value() == "run":
            return queryset.exclude(run=None)
        return queryset


class SavedJobForm(forms.ModelForm):
    class Meta:
        model = Job
        fields = ("title", "description")
        labels = {"description": "What the job asks for"}
        help_texts = {
            "description": "Saving a change makes a new version under your name; this "
            "version stays as it is for the runs that used it."
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        problem = services.job_problem(
            title=data.get("title") or "", description=data.get("description") or ""
        )
        if problem and "title" in data and "description" in data:
            raise forms.ValidationError(problem)
        return data


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Saved jobs and the jobs runs scored against.

    A saved job is changed here as in the web app, through services.job_save: saving makes
    a new version under the admin's name, never an edit in place, so the runs that used a
    version keep it; the admin being staff, it is a version of the team's job (a person's
    copy edited here becomes the team's job of that title). A run's copy is what that
    run's candidates were scored against: only looked at, never changed."""

    list_display = (
        "title",
        "version_shown",
        "kind",
        "sharing",
        "created_by",
        "created_at",
        "run",
        "candidates",
    )
    list_filter = (JobKindFilter,)
    list_select_related = ("run", "created_by", "owner")
    search_fields = ("title",)
    form = SavedJobForm
    _SAVED_INFO = (
        "version",
        "sharing",
        "created_by",
        "created_at",
        "based_on",
        "web_page",
        "history",
    )
    _RUN_FIELDS = ("title", "run", "based_on", "key", "created_at", "description")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        return super().get_queryset(request).annotate(candidate_count=Count("items"))

    def get_fields(self, request: HttpRequest, obj: Job | None = None) -> Any:
        if obj is not None and obj.run_id:
            return self._RUN_FIELDS
        if obj is None:
            return ("title", "description")
        return ("title", "description", *self._SAVED_INFO)

    def get_readonly_fields(self, request: HttpRequest, obj: Job | None = None) -> Any:
        if obj is not None and obj.run_id:
            return self._RUN_FIELDS
        return self._SAVED_INFO if obj is not None else ()

    @admin.display(description="version", ordering="version")
    def version_shown(self, job: Job) -> int | str:
        return "—" if job.run_id else job.version

    @admin.display(description="kind", ordering="run")
    def kind(self, job: Job) -> str:
        return "A run's copy" if job.run_id else "Saved"

    @admin.display(description="The team's or whose copy", ordering="owner")
    def sharing(self, job: Job) -> str:
        if job.run_id:
            return "—"
        return "The team's" if job.is_shared else f"Copy of {job.owner}"

    @admin.display(description="candidates", ordering="candidate_count")
    def candidates(self, job: Job) -> int:
        return int(getattr(job, "candidate_count", 0))

    @admin.display(description="In the web app")
    def web_page(self, job: Job) -> SafeString:
        url = reverse("web:job", args=[job.pk])
        return format_html('<a href="{}">Open the job page</a> (versions, changes, runs)', url)

    @admin.display(description="Versions")
    def history(self, job: Job) -> SafeString:
        rows = [
            (
                reverse("admin:evaluations_job_change", args=[v.pk]),
                f"v{v.version}",
                v.created_by or "—",
                v.created_at.strftime("%Y-%m-%d %H:%M"),
            )
            for v in Job.objects.lineage(job).select_related("created_by")
        ]
        return format_html(
            "<table><thead><tr><th>Version</th><th>Written by</th><th>When (UTC)</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "", '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>', rows
            ),
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.run_id:
            return False  # what a run was scored against stays as it was
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the history stays whole; runs point at the versions they used

    def save_model(self, request: HttpRequest, obj: Job, form: Any, change: bool) -> None:
        edited = Job.objects.get(pk=obj.pk) if change else None
        # The form asked job_problem first, so the service takes what it was given.
        saved = services.job_save(
            job=edited,
            author=request.user,
            title=form.cleaned_data["title"],
            description=form.cleaned_data["description"],
        )
        # The admin reports and links to what was saved: the new version, not the old one.
        obj.pk, obj.version, obj.title = saved.pk, saved.version, saved.title
        if edited is None or saved.pk != edited.pk:
            whose = "the team's job" if saved.is_shared else f"{saved.owner}'s copy"
            self.message_user(
                request, f"Saved as version {saved.version}. ({whose})", messages.SUCCESS
            )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "owner", "created_at", "last_used_at", "revoked_at")
    list_filter = ("owner",)
    search_fields = ("name", "prefix")
    fields = ("owner", "name", "revoked_at")
    readonly_fields = ("prefix", "created_at", "last_used_at")

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # New keys come from the service, which hashes them; the key is shown only now.
        api_key, key = services.api_key_create(owner=obj.owner, name=obj.name)
        obj.pk = api_key.pk
        obj._plain_key = key  # type: ignore[attr-defined]  # for response_add, this request only

    def response_add(self, request: HttpRequest, obj: ApiKey, *args: Any) -> HttpResponse:
        """The new key, once, in this response: never in a message, which Django keeps in
        a cookie (the browser would store and resend it) or in the session."""
        key = getattr(obj, "_plain_key", "")
        if not key:
            return super().response_add(request, obj, *args)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Copy the new API key",
            "api_key": ApiKey.objects.select_related("owner").get(pk=obj.pk),
            "key": key,
        }
        response = TemplateResponse(request, "admin/evaluations/apikey/created.html", context)
        response["Cache-Control"] = "no-store"  # nor in a browser or proxy cache
        return response


@admin.register(BackendProbe)
class BackendProbeAdmin(admin.ModelAdmin):
    """The knees `manage.py probe_backend` measured (read-only: a measurement is a record)."""

    list_display = ("created_at", "backend", "model", "where", "concurrency")
    list_filter = ("backend", "model")
    fields = ("backend", "where", "model", "concurrency", "table", "details", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
