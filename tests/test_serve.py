"""`manage.py serve`: one foreground command runs the web server and the workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from devtools.fake_ollama import FakeOllama
from devtools.synthetic import write_candidates_csv
from tests.support.processes import ROOT, evaluate, finish, subprocess_env

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def test_serve_runs_web_and_workers_and_ctrl_c_stops_both(tmp_path: Path) -> None:
    port = _free_port()
    with FakeOllama(slots=4) as fake:
        env = subprocess_env(tmp_path, fake)
        serve = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    assert _get(f"http://127.0.0.1:{port}/healthz") == (200, "ok")
                    break
                except OSError:
                    assert serve.poll() is None, serve.communicate()[0]
                    assert time.monotonic() < deadline, "serve did not come up"
                    time.sleep(0.2)
            status, page = _get(f"http://127.0.0.1:{port}/admin/login/")
            assert status == 200 and "Log in" in page
            status, css = _get(f"http://127.0.0.1:{port}/static/admin/css/base.css")
            assert status == 200 and "body" in css  # static files served by whitenoise

            # A run started from the terminal is processed by serve's workers.
            source = tmp_path / "candidates.csv"
            write_candidates_csv(source, 20, seed=2)
            time.sleep(3)  # the cluster's first stats land in the shared cache
            output = finish(evaluate(source, tmp_path / "scored.csv", env))
            assert "Done: 20 scored" in output
            assert "Q Cluster" not in output  # evaluate did not need a cluster of its own
            children = psutil.Process(serve.pid).children(recursive=True)
            assert children, "serve runs the worker cluster as child processes"
        finally:
            serve.send_signal(signal.SIGINT)
            try:
                output, _ = serve.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
                raise
        assert serve.returncode == 0, output
        assert f"running at http://127.0.0.1:{port}/" in output
        assert "hrbatch stopped." in output
        assert not any(child.is_running() and child.status() != "zombie" for child in children)
