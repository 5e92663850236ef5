"""Every write to File / Run / Item goes through here: web, API, CLI and admin alike.

One module per sub-domain (imports run down this list, never up):

- common: InputError, what a door shows the person; tasks_queue: enqueue after commit
- processes: which process holds a lease (host, pid, start time)
- files: stored files and free disk space; apikeys: /v1 keys
- rubrics: the default rubric, one by name, saving versions and personal copies
- jobs: saved jobs (typed, or read from a jobs file), versions, matching by position
- ingest: column roles, the pre-start file check, the CSV ingest into Items
- privacy: what the model is shown of a candidate (identity out of the text)
- probes: the measured concurrency knee (probe_backend) and the VRAM check
- reviews: a person's decisions and notes on candidates; explanations on demand
- runs: create, start and dispatch, pause, resume, cancel, retry, rerun, names, finalize
- batches: the /v1 batch lifecycle (create, validate and ingest, expire) and one chat request
- recovery: dead workers' leases, stalled and stuck runs (the periodic sweep)

The doors call `services.<name>`; the names are re-exported here. Reads live in
`evaluations.selectors` (the few the doors call as services.<name> are re-exported too).
Functions are keyword-only and named <entity>_<action> (HackSoft style). The LLM is never
called inside a transaction: SQLite's IMMEDIATE mode would hold the write lock meanwhile.
"""

from __future__ import annotations

from ..selectors import run_find_resumable, run_find_retryable, run_too_long_failed
from . import batches
from .apikeys import API_KEY_PREFIX, api_key_check, api_key_create, api_key_hash
from .batches import BatchInputError, batch_create, batch_expire_overdue, batch_ingest_and_start
from .common import InputError
from .files import (
    csv_layout,
    disk_full_message,
    ensure_free_space,
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
    ItemWriter,
    JobBook,
    JobSummary,
    candidate_chars_limit,
    contact_job_columns,
    default_roles,
    file_check,
    guess_id_column,
    is_name_column,
    is_protected,
    job_column_reasons,
    job_key,
    job_summary,
    job_text,
    job_title_column,
    plan_for_run,
    role_reason,
    role_reasons,
    run_chars_limit,
    run_fail_validation,
    run_ingest,
)
from .jobs import (
    JobsChoice,
    JobsImport,
    job_map_resolve,
    job_problem,
    job_save,
    jobs_file_read,
    jobs_import,
    jobs_import_upload,
    saved_job_texts,
    saved_jobs,
)
from .privacy import ModelView, redacts
from .probes import (
    backend_probe_run,
    backend_probe_store,
    probe_candidates,
    run_vram_warning,
    vram_check,
)
from .processes import holder_alive, lease_holder
from .recovery import clusters_alive, leases_release_dead, queue_recover, sweep
from .reviews import item_decide, item_explain, run_explain_shortlist
from .rubrics import rubric_default, rubric_get, rubric_save
from .runs import (
    AGREEMENT_SAMPLE_MAX,
    AGREEMENT_SAMPLE_MIN,
    RUN_NAME_MAX,
    RunAlreadyStarted,
    chunk_size_for,
    items_cancel_unclaimed,
    notify_address_refusal,
    run_cancel,
    run_clear_disk_full,
    run_clear_outage,
    run_create,
    run_dispatch,
    run_finalize,
    run_finalize_if_done,
    run_ingest_and_start,
    run_name_suggestion,
    run_note_disk_full,
    run_note_outage,
    run_pause,
    run_redispatch,
    run_rename,
    run_rerun,
    run_resume,
    run_retry_failed,
    run_scoring_began,
    run_start,
)
from .tasks_queue import enqueue_on_commit

__all__ = [
    "AGREEMENT_SAMPLE_MAX",
    "AGREEMENT_SAMPLE_MIN",
    "API_KEY_PREFIX",
    "LONG_ROWS_LEAVE_OUT",
    "LONG_ROWS_TRUNCATE",
    "ROLES",
    "ROLE_AUDIT_ONLY",
    "ROLE_ID",
    "ROLE_IGNORE",
    "ROLE_JOB",
    "ROLE_MODEL",
    "ROLE_RESULTS",
    "ROW_NUMBER",
    "RUN_NAME_MAX",
    "BatchInputError",
    "InputError",
    "ItemWriter",
    "JobBook",
    "JobSummary",
    "JobsChoice",
    "JobsImport",
    "ModelView",
    "RunAlreadyStarted",
    "api_key_check",
    "api_key_create",
    "api_key_hash",
    "backend_probe_run",
    "backend_probe_store",
    "batch_create",
    "batch_expire_overdue",
    "batch_ingest_and_start",
    "batches",
    "candidate_chars_limit",
    "chunk_size_for",
    "clusters_alive",
    "contact_job_columns",
    "csv_layout",
    "default_roles",
    "disk_full_message",
    "enqueue_on_commit",
    "ensure_free_space",
    "file_check",
    "file_create",
    "file_delete",
    "guess_id_column",
    "holder_alive",
    "is_disk_full",
    "is_name_column",
    "is_protected",
    "item_decide",
    "item_explain",
    "items_cancel_unclaimed",
    "job_column_reasons",
    "job_key",
    "job_map_resolve",
    "job_problem",
    "job_save",
    "job_summary",
    "job_text",
    "job_title_column",
    "jobs_file_read",
    "jobs_import",
    "jobs_import_upload",
    "lease_holder",
    "leases_release_dead",
    "notify_address_refusal",
    "plan_for_run",
    "probe_candidates",
    "queue_recover",
    "redacts",
    "role_reason",
    "role_reasons",
    "rubric_default",
    "rubric_get",
    "rubric_save",
    "run_cancel",
    "run_chars_limit",
    "run_clear_disk_full",
    "run_clear_outage",
    "run_create",
    "run_dispatch",
    "run_explain_shortlist",
    "run_fail_validation",
    "run_finalize",
    "run_finalize_if_done",
    "run_find_resumable",
    "run_find_retryable",
    "run_ingest",
    "run_ingest_and_start",
    "run_name_suggestion",
    "run_note_disk_full",
    "run_note_outage",
    "run_pause",
    "run_redispatch",
    "run_rename",
    "run_rerun",
    "run_resume",
    "run_retry_failed",
    "run_scoring_began",
    "run_start",
    "run_too_long_failed",
    "run_vram_warning",
    "saved_job_texts",
    "saved_jobs",
    "sha256_of",
    "sweep",
    "upload_delete",
    "vram_check",
]
