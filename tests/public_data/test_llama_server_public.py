"""The 97 public résumés through llama.cpp's own server (`llama-server --parallel 4`, the
embedded SmolLM2 GGUF) in every answer format, as a person runs it: `manage.py evaluate`
with the OpenAI-compatible backend set by environment variables.

llama-server's JSON-schema grammar lets whitespace run between items; tried with the schema,
the model filled its token cap with tabs and newlines and 14 of 24 answers were cut off. With
the answer's own grammar (evaluations.answer_grammar) none may be."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.live import free_port
from devtools.llama_server import ALIAS, LlamaCppServer
from evaluations import prompting
from evaluations.rubric_content import DEFAULT_CRITERIA
from tests.support.files import read_csv, rows_of, shared_data
from tests.support.processes import ROOT, evaluate, finish

CRITERIA = [c["key"] for c in DEFAULT_CRITERIA]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaCppServer]:
    with LlamaCppServer(parallel=4, ctx=4096) as running:
        yield running


def _env(tmp_path: Path, server: LlamaCppServer, answer_format: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        HRBATCH_DATA_DIR=str(tmp_path / "data"),
        HRBATCH_LLM_BACKEND="openai",
        HRBATCH_OPENAI_BASE_URL=server.base_url,
        HRBATCH_MODEL=ALIAS,
        HRBATCH_CONCURRENCY="4",
        HRBATCH_WORKERS="1",
        HRBATCH_CONSISTENCY_PCT="0",
        HRBATCH_ANSWER_FORMAT=answer_format,
        OLLAMA_HOST=f"http://127.0.0.1:{free_port()}",
    )
    return env


@pytest.mark.parametrize("answer_format", prompting.ANSWER_FORMATS)
def test_every_public_resume_scores_through_llama_server_with_no_answer_cut_off(
    server: LlamaCppServer, tmp_path: Path, answer_format: str
) -> None:
    source = shared_data("resume_data_97.csv")
    out = tmp_path / "scored.csv"
    env = _env(tmp_path, server, answer_format)

    output = finish(evaluate(source, out, env), timeout=3600)

    rows = read_csv(out)
    assert len(rows) == len(rows_of(source)) == 97, output
    cut = [r for r in rows if "cut off" in r["error"]]
    assert not cut, f"{len(cut)} answers cut off: {cut[0]['error']}"
    failed = [r for r in rows if r["status"] != "done"]
    assert not failed, f"{len(failed)} of 97 not scored: {failed[0]['error']}\n{output}"
    assert all(1 <= int(row[key]) <= 10 for row in rows for key in CRITERIA)
    report = json.loads(
        subprocess.run(
            [sys.executable, "manage.py", "run_report", "--latest", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
    )
    run = report["run"]
    assert run["answer_format"] == answer_format and run["scored"] == 97
    # The server got the answer's grammar, not the schema: not a character of padding.
    assert run["structured_output"] == "gbnf" and run["padded_answers"] == 0
    assert run["tokens"]["output"] > 0
