"""Files uploaded and runs started the way the doors do it: through the service layer."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from django.core.management import call_command

from evaluations import services
from evaluations.models import File, Run, RunColumns, RunOptions
from evaluations.services import batches

CHAT = "/v1/chat/completions"
MODEL = "gemma3:12b"


def upload(path: Path, owner: Any = None, purpose: str = File.Purpose.CANDIDATES) -> File:
    return services.file_create(owner=owner, source=path, filename=path.name, purpose=purpose)


# The choices of a run that run_create takes in its RunColumns (`intake`).
INTAKE_CHOICES = ("id_column", "roles", "skip_invalid", "long_rows", "redact", "encoding", "jobs")


def run_kwargs(owner: Any = None, **kwargs: Any) -> dict[str, Any]:
    """run_create's keywords, from the choices a test names one by one (id_column=,
    roles=, jobs=, pack_size=, …) as RunColumns and RunOptions; a JobsChoice is stored
    as a run stores it, resolved for `owner`."""
    chosen = {name: kwargs.pop(name) for name in INTAKE_CHOICES if name in kwargs}
    if isinstance(chosen.get("jobs"), services.JobsChoice):
        chosen["jobs"] = chosen["jobs"].for_run(owner)
    if chosen:
        kwargs["intake"] = RunColumns(**chosen)
    if "pack_size" in kwargs:
        kwargs["options"] = RunOptions(pack_size=kwargs.pop("pack_size"))
    return kwargs


def start_run(path: Path, owner: Any = None, **kwargs: Any) -> Run:
    """A run over the candidate file at `path` (id column `id` unless told), as stored once
    `run_create` returns: with tasks inline (conftest), it has run to its end."""
    kwargs.setdefault("id_column", "id")
    run = services.runs.run_create(
        owner=owner, input_file=upload(path, owner), **run_kwargs(owner, **kwargs)
    )
    run.refresh_from_db()
    return run


def report_json(run: Run) -> dict[str, Any]:
    """`manage.py run_report RUN --json`, read back."""
    out = io.StringIO()
    call_command("run_report", run.public_id, "--json", stdout=out)
    return json.loads(out.getvalue())


def request_line(custom_id: str, content: Any = "Hello", **body: Any) -> dict[str, Any]:
    """One line of a batch input file: a chat completion request."""
    messages = body.pop("messages", None) or [{"role": "user", "content": content}]
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": CHAT,
        "body": {"model": MODEL, "messages": messages, **body},
    }


def create_batch(path: Path, owner: Any = None, **kwargs: Any) -> Run:
    """A batch over the JSONL file at `path`, as stored once `batch_create` returns."""
    run = batches.batch_create(
        owner=owner,
        input_file=upload(path, owner, File.Purpose.BATCH),
        endpoint=kwargs.pop("endpoint", CHAT),
        completion_window=kwargs.pop("completion_window", "24h"),
        metadata=kwargs.pop("metadata", None),
    )
    run.refresh_from_db()
    return run
