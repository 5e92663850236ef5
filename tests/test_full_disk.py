"""A disk that fills up while a run is scored: one plain message, a run that waits (or
pauses) with the reason, never a traceback storm nor a false "nothing was started".

The disk "fills" for real processes: the file size limit of every process of a running
`evaluate` (RLIMIT_FSIZE, set from outside with prlimit) is lowered to the size its files
have, so any write that grows one fails with EFBIG, as on a full disk; raising it again
is the administrator freeing space. No small filesystem is needed.
"""

from __future__ import annotations

import contextlib
import resource
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from django.db import connection

from devtools.fake_ollama import FakeOllama
from devtools.synthetic import write_candidates_csv
from tests.support.files import read_csv
from tests.support.output import Output
from tests.support.processes import done_ids, evaluate, query, subprocess_env, wait_for

DISK_FULL = "The server's disk is full"


def _group(pid: int) -> list[psutil.Process]:
    """`evaluate` and every process it started (its worker cluster)."""
    process = psutil.Process(pid)
    return [process, *process.children(recursive=True)]


def _set_file_size_limit(pid: int, limit: int) -> None:
    for process in _group(pid):
        with contextlib.suppress(psutil.Error):
            process.rlimit(psutil.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))


def _ignore_sigxfsz() -> None:
    """preexec_fn: a write past the limit fails with EFBIG instead of killing the process
    (the cluster's processes inherit it), as a write to a full disk fails with ENOSPC."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


@pytest.mark.slow
def test_a_disk_that_fills_mid_run_is_one_plain_message_and_the_run_waits_for_room(
    tmp_path: Path,
) -> None:
    source = tmp_path / "candidates.csv"
    write_candidates_csv(source, 300, seed=51)
    out = tmp_path / "scored.csv"
    data = tmp_path / "data"
    with FakeOllama(slots=4, latency=0.1) as fake:
        env = subprocess_env(tmp_path, fake)
        output = Output(evaluate(source, out, env, preexec_fn=_ignore_sigxfsz))
        wait_for(lambda: len(done_ids(env)) >= 60, 120, "60 candidates scored")

        # The disk fills: no file of the data directory may grow any more.
        full = max(path.stat().st_size for path in data.rglob("*") if path.is_file())
        _set_file_size_limit(output.process.pid, full)
        wait_for(lambda: output.has(DISK_FULL), 90, "the full disk to be said")
        scored_while_full = len(done_ids(env))
        ((status,),) = query(env, "SELECT status FROM evaluations_run")
        assert status in ("in_progress", "paused")
        assert output.process.poll() is None or status == "paused"

        # The administrator frees space: the run goes on by itself.
        _set_file_size_limit(output.process.pid, resource.RLIM_INFINITY)
        text = output.finish(timeout=240)

    assert output.process.returncode == 0, text
    assert "Traceback" not in text and "Error" not in text.replace("HRBATCH", "")
    assert output.count(DISK_FULL) == 1  # said once, not once per failed write
    assert "Done: 300 scored, 0 failed, of 300." in text
    assert scored_while_full < 300
    rows = read_csv(out)
    assert [r["id"] for r in rows] == [r["id"] for r in read_csv(source)]
    assert {r["status"] for r in rows} == {"done"}
    assert query(env, "SELECT status, status_message FROM evaluations_run") == [("completed", "")]


@contextlib.contextmanager
def _no_room_from(statement: str, *, lasting: int = 1) -> Iterator[list[str]]:
    """The disk is full from the first SQL statement starting with `statement` that this
    process runs, for `lasting` statements: its file size limit is 0 meanwhile (any write
    fails with EFBIG, SIGXFSZ ignored), as if the disk filled at that moment and was freed
    after. Yields the statements that met the full disk. The database is SQLite's file,
    written by this process (the default, and how `make test` runs this file)."""
    met: list[str] = []
    room = resource.getrlimit(resource.RLIMIT_FSIZE)

    def full_disk(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        # Until the next statement: SQLite writes when a statement is finished.
        resource.setrlimit(resource.RLIMIT_FSIZE, room)
        if (met or sql.startswith(statement)) and len(met) < lasting:
            met.append(sql)
            resource.setrlimit(resource.RLIMIT_FSIZE, (0, room[1]))
        return execute(sql, params, many, context)

    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        with connection.execute_wrapper(full_disk):
            yield met
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, room)
        signal.signal(signal.SIGXFSZ, handler)


@pytest.mark.django_db(transaction=True)
def test_a_disk_that_fills_as_the_run_starts_keeps_the_run_and_says_so(
    engine_settings: Any,
    fake_ollama: FakeOllama,
    owner: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django_q.conf import Conf

    from evaluations import services
    from evaluations.models import Run, RunColumns
    from tests.support.files import candidates_csv
    from tests.support.runs import upload

    # The run's tasks go to the queue in the database, as under `serve` and `evaluate`.
    monkeypatch.setattr(Conf, "SYNC", False)
    source = upload(candidates_csv(tmp_path, 30), owner)
    # The disk fills once the run has started, as its tasks are queued.
    with (
        _no_room_from('INSERT INTO "django_q_ormq"') as met,
        pytest.raises(services.InputError) as refused,
    ):
        services.runs.run_create(owner=owner, input_file=source, intake=RunColumns(id_column="id"))
    assert met, "the disk never filled"

    message = refused.value.message
    run = Run.objects.get()
    assert "disk is too full" in message
    assert "Nothing was started" not in message  # it had started: it is kept, and said so
    assert run.public_id in message and "30 candidates are kept" in message
    assert run.status == Run.Status.PAUSED and run.total_count == 30
    assert "disk filled up" in run.status_message

    # Room again: resumed, it is scored whole.
    monkeypatch.setattr(Conf, "SYNC", True)
    assert services.run_resume(run=run)
    run.refresh_from_db()
    assert (run.status, run.done_count) == (Run.Status.COMPLETED, 30)


@pytest.mark.django_db(transaction=True)
def test_a_run_that_cannot_even_be_removed_is_never_said_to_be_nothing(
    engine_settings: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path
) -> None:
    from evaluations import services
    from evaluations.models import Run, RunColumns
    from tests.support.files import candidates_csv
    from tests.support.runs import upload

    source = upload(candidates_csv(tmp_path, 30), owner)
    # The disk fills as the candidates are stored, and stays full a while: the run can be
    # neither finished nor removed.
    with (
        _no_room_from('INSERT INTO "evaluations_item"', lasting=100) as met,
        pytest.raises(services.InputError) as refused,
    ):
        services.runs.run_create(owner=owner, input_file=source, intake=RunColumns(id_column="id"))
    assert met, "the disk never filled"

    message = refused.value.message
    (run,) = Run.objects.all()
    assert "disk is too full" in message
    assert "Nothing was started" not in message
    assert run.public_id in message and "nor removed" in message
