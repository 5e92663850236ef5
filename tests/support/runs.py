"""Files uploaded and runs started the way the doors do it: through the service layer."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from django.core.management import call_command

from evaluations import services
from evaluations.models import File, Run
from evaluations.services import batches

CHAT = "/v1/chat/completions"
MODEL = "gemma3:12b"


def upload(path: Path, owner: Any = None, purpose: str = File.Purpose.CANDIDATES) -> File:
    return services.file_create(owner=owner, source=path, filename=path.name, purpose=purpose)


def start_run(path: Path, owner: Any = None, **kwargs: Any) -> Run:
    """A run over the candidate file at `path` (id column `id` unless told), as stored once
    `run_create` returns: with tasks inline (conftest), it has run to its end."""
    kwargs.setdefault("id_column", "id")
    run = services.run_create(owner=owner, input_file=upload(path, owner), **kwargs)
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
