"""Every write to File / Run / Item goes through here: web, API, CLI and admin alike.

One module per sub-domain (imports run down this list, never up):

- common: InputError, what a door shows the person; tasks_queue: enqueue after commit
- processes: which process holds a lease (host, pid, start time); migrate, the worker cluster
- items: Items written in bulk (the ingest's inserts, the worker's results)
- files: stored files and free disk space; apikeys: /v1 keys
- rubrics: the default rubric, one by name, saving versions and personal copies
- jobs: saved jobs (typed, or read from a jobs file), versions, matching by position
- ingest: the pre-start file check and the CSV ingest into Items (the column policy and
  the row reader they apply are the domain's: evaluations.intake)
- intake: check a candidate file and create its run, for the web check page and `evaluate`
- probes: the measured concurrency knee (probe_backend) and the VRAM check
- reviews: a person's decisions and notes on candidates; explanations on demand
- runs: create, start and dispatch, pause, resume, cancel, retry, rerun, names, finalize
- batches: the /v1 batch lifecycle (create, validate and ingest, expire) and one chat request
- recovery: dead workers' leases, stalled and stuck runs (the periodic sweep)

The doors call `services.<name>`: what they use is re-exported here, and only that. Every
other caller (the engine, the tasks, the services themselves, tests and benchmarks) imports
from the submodule (`from evaluations.services.runs import run_start`). Reads live in
`evaluations.selectors`, under that name only.
Functions are keyword-only and named <entity>_<action> (HackSoft style). The LLM is never
called inside a transaction: SQLite's IMMEDIATE mode would hold the write lock meanwhile.
"""

from __future__ import annotations

from ..model_view import ModelView
from . import batches
from .apikeys import api_key_check, api_key_create
from .common import InputError
from .files import (
    file_choices_clear,
    file_choices_update,
    file_create,
    file_delete,
    is_disk_full,
    sha256_of,
    upload_delete,
)
from .ingest import (
    LONG_ROWS_LEAVE_OUT,
    LONG_ROWS_TRUNCATE,
    ROLE_AUDIT_ONLY,
    ROLE_ID,
    ROLE_IGNORE,
    ROLE_JOB,
    ROLE_MODEL,
    ROLE_RESULTS,
    ROLES,
    ROW_NUMBER,
    JobSummary,
    default_roles,
    file_check,
    file_positions,
    id_column_from,
    job_summary,
    plan_for_run,
    role_reasons,
    run_chars_limit,
)
from .intake import (
    ENCODING_CHOICES,
    FileCheck,
    IntakeCheck,
    IntakeProposal,
    ModelChoice,
    file_layout,
    intake_check,
    intake_create,
    intake_estimate,
    intake_preview,
    intake_propose,
    model_choice,
    problem_rows_csv,
    title_key,
    valid_encoding,
)
from .jobs import (
    REPEATED_KEEP_FIRST,
    REPEATED_NUMBER,
    JobsChoice,
    JobsFileProblems,
    JobsImport,
    JobsResolution,
    job_owner,
    job_problem,
    job_save,
    jobs_file_keep,
    jobs_file_kept,
    jobs_import,
    jobs_import_upload,
    jobs_resolve,
    jobs_upload_problems,
    saved_jobs,
)
from .probes import backend_probe_run, backend_probe_store, run_vram_warning
from .processes import database_migrate, worker_cluster_start
from .recovery import clusters_alive, leases_release_dead, queue_recover, sweep
from .reviews import item_decide, item_explain
from .rubrics import rubric_default, rubric_get, rubric_save
from .runs import (
    RunAlreadyStarted,
    notify_address_refusal,
    run_cancel,
    run_name_suggestion,
    run_pause,
    run_redispatch,
    run_rename,
    run_rerun,
    run_resume,
    run_retry_failed,
    run_write_scored_csv,
)
from .tasks_queue import enqueue_on_commit

__all__ = [
    "ENCODING_CHOICES",
    "LONG_ROWS_LEAVE_OUT",
    "LONG_ROWS_TRUNCATE",
    "REPEATED_KEEP_FIRST",
    "REPEATED_NUMBER",
    "ROLES",
    "ROLE_AUDIT_ONLY",
    "ROLE_ID",
    "ROLE_IGNORE",
    "ROLE_JOB",
    "ROLE_MODEL",
    "ROLE_RESULTS",
    "ROW_NUMBER",
    "FileCheck",
    "InputError",
    "IntakeCheck",
    "IntakeProposal",
    "JobSummary",
    "JobsChoice",
    "JobsFileProblems",
    "JobsImport",
    "JobsResolution",
    "ModelChoice",
    "ModelView",
    "RunAlreadyStarted",
    "api_key_check",
    "api_key_create",
    "backend_probe_run",
    "backend_probe_store",
    "batches",
    "clusters_alive",
    "database_migrate",
    "default_roles",
    "enqueue_on_commit",
    "file_check",
    "file_choices_clear",
    "file_choices_update",
    "file_create",
    "file_delete",
    "file_layout",
    "file_positions",
    "id_column_from",
    "intake_check",
    "intake_create",
    "intake_estimate",
    "intake_preview",
    "intake_propose",
    "is_disk_full",
    "item_decide",
    "item_explain",
    "job_owner",
    "job_problem",
    "job_save",
    "job_summary",
    "jobs_file_keep",
    "jobs_file_kept",
    "jobs_import",
    "jobs_import_upload",
    "jobs_resolve",
    "jobs_upload_problems",
    "leases_release_dead",
    "model_choice",
    "notify_address_refusal",
    "plan_for_run",
    "problem_rows_csv",
    "queue_recover",
    "role_reasons",
    "rubric_default",
    "rubric_get",
    "rubric_save",
    "run_cancel",
    "run_chars_limit",
    "run_name_suggestion",
    "run_pause",
    "run_redispatch",
    "run_rename",
    "run_rerun",
    "run_resume",
    "run_retry_failed",
    "run_vram_warning",
    "run_write_scored_csv",
    "saved_jobs",
    "sha256_of",
    "sweep",
    "title_key",
    "upload_delete",
    "valid_encoding",
    "worker_cluster_start",
]
