"""`manage.py evaluate` as a person runs it: real processes, a real worker cluster, kill -9.

Each test gets its own data directory (its own SQLite file) and talks to the fake Ollama
server over HTTP. The database is read with sqlite3 directly, as a second process would.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.fake_ollama import FakeOllama
from devtools.synthetic import write_candidates_csv
from evaluations.redact import Redactor
from tests.support.files import read_csv
from tests.support.processes import (
    ROOT,
    done_ids,
    evaluate,
    finish,
    query,
    subprocess_env,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def slow_ollama() -> Iterator[FakeOllama]:
    # 8 slots x 50 ms: a 300-candidate run lasts a few seconds, long enough to kill it.
    with FakeOllama(slots=8, latency=0.05) as fake:
        yield fake


def _notes_as_sent(rows: list[dict[str, str]]) -> dict[str, str]:
    """Each candidate's cover note as the model is sent it (its name hidden), to its ID."""
    return {Redactor(names=[r["name"]])(r["cover_note"]): r["id"] for r in rows}


def _requested_ids(fake: FakeOllama, notes: dict[str, str], start: int = 0) -> list[str]:
    """Which candidates the server was asked about, from the requests it received."""
    ids = []
    for request in fake.requests[start:]:
        user = request["messages"][-1]["content"]
        ids += [cid for note, cid in notes.items() if note in user]
    return ids


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def test_evaluate_scores_a_file_and_exits_zero(tmp_path: Path, slow_ollama: FakeOllama) -> None:
    source = tmp_path / "candidates.csv"
    write_candidates_csv(source, 60, seed=3)
    out = tmp_path / "scored.csv"

    output = finish(evaluate(source, out, subprocess_env(tmp_path, slow_ollama)))

    assert "Using column 'id' as the candidate ID" in output
    assert "Done: 60 scored, 0 failed, of 60." in output
    assert "60/60" in output
    rows = read_csv(out)
    assert [r["id"] for r in rows] == [r["id"] for r in read_csv(source)]
    assert all(r["status"] == "done" and 1 <= int(r["overall"]) <= 10 for r in rows)


def test_evaluate_keeps_the_separator_and_exact_values_and_writes_excel_on_request(
    tmp_path: Path, slow_ollama: FakeOllama
) -> None:
    generated = tmp_path / "generated.csv"
    write_candidates_csv(generated, 10, seed=4)
    rows = read_csv(generated)
    rows[0]["skills"], rows[1]["phone"], rows[2]["years_experience"] = (
        "=SUM(A1)",
        "+44 20 1234",
        "-5",
    )
    source = tmp_path / "bewerber.csv"
    with open(source, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    env = subprocess_env(tmp_path, slow_ollama)

    out = tmp_path / "scored.csv"
    finish(evaluate(source, out, env))
    text = out.read_text(encoding="utf-8")
    assert not text.startswith("\ufeff") and text.startswith("id;name;email;")
    scored = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert [{k: r[k] for k in rows[0]} for r in scored] == rows  # every value exactly

    excel = tmp_path / "scored-excel.csv"
    finish(evaluate(source, excel, env, "--excel", "--fresh"))
    text = excel.read_text(encoding="utf-8")
    assert text.startswith("\ufeffid;name;email;")
    scored = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert scored[0]["skills"] == "'=SUM(A1)" and scored[1]["phone"] == "'+44 20 1234"
    assert scored[2]["years_experience"] == "-5"
    assert all(r["status"] == "done" for r in scored)

    help_text = subprocess.run(
        [sys.executable, "manage.py", "evaluate", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "exactly as in the input" in " ".join(help_text.split())


@pytest.mark.parametrize("stack", ["sqlite+orm", "postgres+redis"])
def test_killing_the_whole_cluster_then_rerunning_resumes_with_every_row_exactly_once(
    tmp_path: Path, slow_ollama: FakeOllama, stack: str, request: pytest.FixtureRequest
) -> None:
    source = tmp_path / "candidates.csv"
    write_candidates_csv(source, 300, seed=5)
    originals = read_csv(source)
    notes = _notes_as_sent(originals)
    out = tmp_path / "scored.csv"
    extra = request.getfixturevalue("scale_out") if stack == "postgres+redis" else {}
    env = subprocess_env(tmp_path, slow_ollama, **extra)

    first = evaluate(source, out, env)
    wait_for(lambda: len(done_ids(env)) >= 60, 60, "60 candidates scored")
    os.killpg(first.pid, signal.SIGKILL)
    first.communicate()
    done_before = done_ids(env)
    requests_before = len(slow_ollama.requests)
    assert 60 <= len(done_before) < 300
    assert not out.exists()

    output = finish(evaluate(source, out, env))

    assert "Resuming run" in output
    rows = read_csv(out)
    assert [r["id"] for r in rows] == [r["id"] for r in originals]  # each row once, in order
    assert all(r["status"] == "done" for r in rows)
    # Nothing that was already scored was sent again after the restart.
    again = set(_requested_ids(slow_ollama, notes, requests_before)) & done_before
    assert again == set()
    runs = query(env, "SELECT status, done_count, total_count FROM evaluations_run")
    assert runs == [("completed", 300, 300)]
    # After the restart each unfinished candidate was asked about exactly once; the work
    # lost to the kill is what was in flight or not yet written (a flush is <= 0.25 s).
    assert len(slow_ollama.requests) - requests_before == 300 - len(done_before)
    assert requests_before - len(done_before) <= 8 + 50


def test_a_worker_killed_mid_run_is_recovered_without_a_restart(
    tmp_path: Path, slow_ollama: FakeOllama
) -> None:
    source = tmp_path / "candidates.csv"
    write_candidates_csv(source, 300, seed=7)
    out = tmp_path / "scored.csv"

    # Tasks the killed pusher held are lost: the sweep re-dispatches a run that stalls.
    env = subprocess_env(tmp_path, slow_ollama, HRBATCH_STALL_SECONDS="6")
    process = evaluate(source, out, env)
    wait_for(lambda: len(done_ids(env)) >= 40, 60, "40 candidates scored")
    # The evaluate process runs the cluster's sentinel; its children are the workers,
    # the monitor and the pusher. Kill every one of them mid-task.
    sentinel = _descendants(process.pid)
    victims = [pid for child in sentinel for pid in _descendants(child)]
    assert victims, "no worker processes found"
    for pid in victims:
        os.kill(pid, signal.SIGKILL)

    output = finish(process)

    assert "Done: 300 scored, 0 failed, of 300." in output
    rows = read_csv(out)
    assert sorted(r["id"] for r in rows) == sorted(r["id"] for r in read_csv(source))
    assert len({r["id"] for r in rows}) == 300


def test_a_bad_file_gets_its_clear_message_and_a_non_zero_exit(
    tmp_path: Path, slow_ollama: FakeOllama
) -> None:
    source = tmp_path / "dupes.csv"
    source.write_text("id,skills\nc1,Python\nc2,Go\nc1,Rust\n", encoding="utf-8")

    env = subprocess_env(tmp_path, slow_ollama)
    process = evaluate(source, tmp_path / "out.csv", env, "--id-column", "id")
    output, _ = process.communicate(timeout=60)

    assert process.returncode == 1
    assert "Row 4" in output and "row 2" in output and "'c1'" in output
    # Refused before a run is made, with the ways out (the web page's check, CLI words).
    assert "1 row has a duplicate or missing ID in 'id'" in output
    assert "--skip-invalid" in output and "--id-column" in output
    assert query(env, "SELECT count(*) FROM evaluations_run") == [(0,)]
    assert not (tmp_path / "out.csv").exists()

    out = tmp_path / "out.csv"
    output = finish(evaluate(source, out, env, "--id-column", "id", "--skip-invalid"))
    assert "Done: 2 scored, 0 failed, of 2." in output
    assert [r["id"] for r in read_csv(out)] == ["c1", "c2"]


def test_retry_failed_scores_again_only_the_failed_rows_of_the_last_run(
    tmp_path: Path,
) -> None:
    source = tmp_path / "candidates.csv"
    write_candidates_csv(source, 30, seed=11)
    originals = read_csv(source)
    notes = _notes_as_sent(originals)
    out = tmp_path / "scored.csv"
    with FakeOllama(slots=2, latency=0.2) as fake:
        env = subprocess_env(tmp_path, fake)

        nothing = evaluate(source, out, env, "--retry-failed")
        output, _ = nothing.communicate(timeout=120)
        assert nothing.returncode == 1
        assert "No finished run of this file to retry" in output

        # The model starts answering nonsense part way through: the rest of the rows fail.
        first = evaluate(source, out, env)
        wait_for(lambda: len(done_ids(env)) >= 6, 60, "6 candidates scored")
        fake.garbage_rate = 1.0
        output = finish(first)
        done_before = done_ids(env)
        failed = 30 - len(done_before)
        assert f"Done: {len(done_before)} scored, {failed} failed, of 30." in output
        assert failed > 0
        fake.garbage_rate = 0.0  # the model is fixed
        requests_before = len(fake.requests)

        output = finish(evaluate(source, out, env, "--retry-failed"))

        assert f"Trying {failed} failed candidates of run batch_" in output
        assert "Done: 30 scored, 0 failed, of 30." in output
        rows = read_csv(out)
        assert [r["id"] for r in rows] == [r["id"] for r in originals]
        assert all(r["status"] == "done" and r["overall"] for r in rows)
        # Only the failed rows were sent again, each once, in the same run.
        again = _requested_ids(fake, notes, requests_before)
        assert sorted(again) == sorted({r["id"] for r in originals} - done_before)
        assert query(env, "SELECT status, done_count, failed_count FROM evaluations_run") == [
            ("completed", 30, 0)
        ]

        output = finish(evaluate(source, out, env, "--retry-failed"))
        assert "No failed candidates to retry" in output and "Done: 30 scored" in output


def _resume_file(path: Path, count: int, blanks: int) -> list[str]:
    """Shaped like the public résumé file: IDs in `Resume ID` (UUIDs), blank rows among them."""
    import uuid

    ids = [str(uuid.UUID(int=1_000_003 * (i + 1))) for i in range(count)]
    lines = ["Resume ID,Category,Resume Skills,Experience"]
    for i, resume_id in enumerate(ids):
        lines.append(f'{resume_id},Data Science,"Python, SQL",{i % 9} years')
        for b in range(blanks // count + (1 if i < blanks % count else 0)):
            lines.append(",,," if b % 2 else "")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ids


def test_evaluate_uses_a_unique_id_column_named_like_an_id_and_says_what_it_skipped(
    tmp_path: Path, slow_ollama: FakeOllama
) -> None:
    source = tmp_path / "resumes.csv"
    ids = _resume_file(source, 30, 86)
    out = tmp_path / "scored.csv"

    output = finish(evaluate(source, out, subprocess_env(tmp_path, slow_ollama)))

    assert "Using column 'Resume ID' as the candidate ID" in output
    assert "Skipped 86 blank rows." in output
    assert "Done: 30 scored, 0 failed, of 30." in output
    assert [r["Resume ID"] for r in read_csv(out)] == ids
    sent = "\n".join(m["content"] for r in slow_ollama.requests for m in r["messages"])
    assert "Resume Skills: Python, SQL" in sent
    assert not [i for i in ids if i in sent]  # the ID never reaches the model
    assert "Resume ID" not in sent


def test_evaluate_numbers_the_rows_when_the_id_named_column_is_not_unique(
    tmp_path: Path, slow_ollama: FakeOllama
) -> None:
    source = tmp_path / "pool.csv"
    source.write_text("Candidate #,skills\n7,Python\n8,Go\n7,Rust\n", encoding="utf-8")
    out = tmp_path / "scored.csv"

    output = finish(evaluate(source, out, subprocess_env(tmp_path, slow_ollama)))

    assert "No column has a unique ID in every row, so the rows are numbered" in output
    assert "Done: 3 scored, 0 failed, of 3." in output
    assert [r["Candidate #"] for r in read_csv(out)] == ["7", "8", "7"]
    sent = "\n".join(m["content"] for r in slow_ollama.requests for m in r["messages"])
    assert "skills: Python" in sent and "Candidate #" not in sent


def test_evaluate_asks_what_to_do_with_rows_too_long_for_the_model(
    tmp_path: Path, slow_ollama: FakeOllama
) -> None:
    source = tmp_path / "letters.csv"
    note = "I like data. " * 1000
    source.write_text(f"id,cover_note\nc1,short\nc2,{note}\nc3,short too\n", encoding="utf-8")
    out = tmp_path / "scored.csv"
    env = subprocess_env(tmp_path, slow_ollama, HRBATCH_MAX_NUM_CTX="2048")

    process = evaluate(source, out, env)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1, output
    assert "Row 3 is too long for the AI model: 13,012 characters" in output
    assert "--long-rows leave-out, or --long-rows truncate" in output
    assert "num_ctx" not in output

    output = finish(evaluate(source, out, env, "--long-rows", "truncate"))
    assert "Done: 3 scored, 0 failed, of 3." in output
    rows = read_csv(out)
    assert [r["truncated"] for r in rows] == ["", "yes", ""]
    assert rows[1]["cover_note"] == note  # the scored file keeps the whole row
