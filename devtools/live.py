"""Start the real app for tests that drive it from outside: `manage.py serve` on a free
port, with its own data directory, pointed at a fake Ollama server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from devtools.fake_ollama import FakeOllama

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, "manage.py"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(data: Path, fake: FakeOllama, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        HRBATCH_DATA_DIR=str(data),
        HRBATCH_LLM_BACKEND="ollama",
        OLLAMA_HOST=fake.url,
        HRBATCH_WORKERS="2",
        HRBATCH_CONCURRENCY="4",
        HRBATCH_RETRY_BACKOFF="0.05",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MANAGE, *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )


def start_serve(
    env: dict[str, str], *, port_from_env: bool = False, log: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`serve` on a free port; returns once /healthz answers.

    With `port_from_env`, started as a person starts it: no flags, the port from PORT.
    With `log`, its stderr is kept there (and shown if it does not start)."""
    port = free_port()
    args = [*MANAGE, "serve"]
    if port_from_env:
        env = {**env, "PORT": str(port)}
    else:
        args += ["--port", str(port)]
    with open(log or os.devnull, "wb") as stderr:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2)
            return process, url
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop_serve(process)
                said = log.read_text() if log else ""
                raise RuntimeError(f"manage.py serve did not start. {said}") from None
            time.sleep(0.2)


def stop_serve(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a person would; kill the whole group if it does not stop in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
