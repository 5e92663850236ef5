"""Faults a person meets in real use, reproduced with real processes (issue 7, items 22-28).

Configuration is set the way people set it, as environment variables of a subprocess; the
LLM is the fake Ollama server over HTTP; processes are killed with kill -9.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from evaluations.synthetic import write_candidates_csv
from tests import live
from tests.fake_ollama import FakeOllama
from tests.test_cli import _env, _evaluate, _finish, _read

pytestmark = pytest.mark.slow


# --- 22: OLLAMA_HOST with several hosts, as README documents it -------------------------


def test_a_comma_list_of_ollama_hosts_works_for_check_evaluate_and_serve(tmp_path: Path) -> None:
    with FakeOllama(slots=4, latency=0.02) as first, FakeOllama(slots=4, latency=0.02) as second:
        # Exactly README's line: "one host, or several separated by commas".
        env = _env(tmp_path, first, OLLAMA_HOST=f"{first.url},{second.url}")

        check = subprocess.run(
            [*live.MANAGE, "check"], cwd=live.ROOT, env=env, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr
        assert "no issues" in check.stdout

        source = tmp_path / "candidates.csv"
        write_candidates_csv(source, 40, seed=4)
        out = tmp_path / "scored.csv"
        output = _finish(_evaluate(source, out, env))
        assert "Done: 40 scored, 0 failed, of 40." in output
        assert [r["status"] for r in _read(out)] == ["done"] * 40
        # Both machines did part of the work.
        assert first.chat_count > 0 and second.chat_count > 0
        assert first.chat_count + second.chat_count == 40

        serve = subprocess.Popen(
            [*live.MANAGE, "serve", "--port", str(live.free_port())],
            cwd=live.ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            lines: list[str] = []
            while time.monotonic() < deadline and serve.poll() is None:
                line = serve.stdout.readline() if serve.stdout else ""
                lines.append(line)
                if "hrbatch is running at" in line:
                    break
            assert serve.poll() is None, "".join(lines)
            assert f"LLM backend: ollama at {first.url}, {second.url}" in "".join(lines)
            # serve's worker cluster (a child process) scores on both machines too.
            first.reset()
            second.reset()
            time.sleep(3)  # the cluster's first stats land in the shared cache
            write_candidates_csv(source, 40, seed=5)
            output = _finish(_evaluate(source, out, env))
            assert "Done: 40 scored" in output and "Q Cluster" not in output
            assert first.chat_count > 0 and second.chat_count > 0
        finally:
            live.stop_serve(serve)  # type: ignore[arg-type]
