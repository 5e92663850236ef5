"""`manage.py serve`: one foreground command runs the web server and the workers."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from openai import OpenAI

from devtools import live
from devtools.fake_ollama import FakeOllama
from devtools.synthetic import write_candidates_csv
from tests.support.processes import ROOT, evaluate, finish, subprocess_env, wait_for

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


def _chat_line(custom_id: str) -> bytes:
    body = {"model": "gemma3:12b", "messages": [{"role": "user", "content": "Rate: Python."}]}
    line = {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}
    return json.dumps(line).encode() + b"\n"


def test_sigterm_stops_serve_within_seconds_whatever_is_in_flight(tmp_path: Path) -> None:
    # Every answer of this LLM server takes ten minutes: a batch is being scored by serve's
    # workers, and a request to /v1/chat/completions waits in a web server thread.
    with FakeOllama(slots=8, latency=600) as fake:
        env = subprocess_env(tmp_path, fake)
        live.manage(env, "migrate", "-v", "0")
        live.manage(
            env,
            "shell",
            "-c",
            "from django.contrib.auth.models import User; User.objects.create_user('ivan')",
        )
        key = live.manage(env, "create_api_key", "--name", "it", "--user", "ivan").stdout.strip()
        serve, url = live.start_serve(env, log=tmp_path / "serve.log")
        tree: list[psutil.Process] = []
        try:
            client = OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=900)
            lines = io.BytesIO(b"".join(_chat_line(f"r{n}") for n in range(3)))
            lines.name = "requests.jsonl"
            uploaded = client.files.create(file=lines, purpose="batch")
            client.batches.create(
                input_file_id=uploaded.id,
                endpoint="/v1/chat/completions",
                completion_window="24h",
            )
            wait_for(lambda: fake.in_flight >= 3, 60, "the batch's requests reach the server")

            def ask() -> None:
                with contextlib.suppress(Exception):  # cut short when serve stops
                    client.chat.completions.create(
                        model="gemma3:12b", messages=[{"role": "user", "content": "Hello"}]
                    )

            threading.Thread(target=ask, daemon=True).start()
            wait_for(lambda: fake.in_flight >= 4, 60, "the chat request reaches the server")
            tree = psutil.Process(serve.pid).children(recursive=True)
            assert tree, "serve runs its worker cluster"

            serve.send_signal(signal.SIGTERM)
            # It promises a few seconds (15 at most); 30 only bounds the wait if it does not.
            with contextlib.suppress(subprocess.TimeoutExpired):
                serve.wait(timeout=30)
            took_over = serve.poll() is None
            left = [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(serve.pid, signal.SIGKILL)
            for process in tree:
                with contextlib.suppress(psutil.Error):
                    process.kill()
            serve.wait()
        said = (tmp_path / "serve.log").read_text()
        assert not took_over, f"serve was still running 30 s after SIGTERM:\n{said}"
        assert serve.returncode == 0, said
        # Nothing of it lives on: no worker of its cluster goes on scoring, orphaned.
        assert left == [], left
