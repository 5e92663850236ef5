"""Issue 10's figures in one run: answer formats on the embedded model, and the concurrency
knee against the fake Ollama and a real llama.cpp server.

    .venv/bin/python bench/real_servers.py [--limit 20] [--synthetic 10] [--fake-slots 4]

1. `bench/answer_formats.py --limit N --synthetic M`: output tokens and seconds per candidate
   for each answer format on the embedded model, and agreement with the keyed format.
2. `manage.py probe_backend` against the fake Ollama with `--fake-slots` slots (Ollama's
   native API; the knee it finds should be the slot count).
3. `manage.py probe_backend` with HRBATCH_LLM_BACKEND=openai against a real server:
   llama-cpp-python's (`python -m llama_cpp.server`) running the embedded SmolLM2 GGUF on the
   CPU. That server evaluates one request at a time, so its knee is 1: more requests in flight
   only wait in its queue (the p50 latency grows with them).

Every step runs as a person would run it: a subprocess configured by environment variables,
on a fresh data directory. Nothing is asserted; the figures are printed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from devtools.fake_ollama import FakeOllama  # noqa: E402
from devtools.llama_server import LlamaServer  # noqa: E402

PYTHON = sys.executable


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.pop("HRBATCH_MODEL", None)
    env.update(HRBATCH_DATA_DIR=str(data), **extra)
    return env


def _run(title: str, args: list[str], env: dict[str, str]) -> None:
    print(f"\n=== {title}", flush=True)
    print("$ " + " ".join(args[1:]), flush=True)
    started = time.monotonic()
    subprocess.run(args, cwd=ROOT, env=env, check=True)
    print(f"({time.monotonic() - started:.0f} s)", flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--limit", type=int, default=20, help="real résumés per format (20)")
    p.add_argument("--synthetic", type=int, default=10, help="synthetic candidates (10)")
    p.add_argument("--fake-slots", type=int, default=4, help="the fake Ollama's slots (4)")
    p.add_argument("--skip-formats", action="store_true", help="only the two probes")
    args = p.parse_args()

    if not args.skip_formats:
        _run(
            "answer formats on the embedded model",
            [
                PYTHON,
                "bench/answer_formats.py",
                "--limit",
                str(args.limit),
                "--synthetic",
                str(args.synthetic),
            ],
            _env(Path(tempfile.mkdtemp(prefix="hrbatch-formats-"))),
        )

    with tempfile.TemporaryDirectory(prefix="hrbatch-probe-") as tmp:
        data = Path(tmp)
        migrate = [PYTHON, "manage.py", "migrate", "-v", "0"]
        with FakeOllama(slots=args.fake_slots, latency=0.1) as fake:
            env = _env(data, HRBATCH_LLM_BACKEND="ollama", OLLAMA_HOST=fake.url)
            subprocess.run(migrate, cwd=ROOT, env=env, check=True)
            _run(
                f"probe_backend: fake Ollama, {args.fake_slots} slots, 100 ms per answer",
                [PYTHON, "manage.py", "probe_backend", "--max-concurrency", "16", "--no-store"],
                env,
            )
        with LlamaServer(n_ctx=4096) as server:
            env = _env(
                data,
                HRBATCH_LLM_BACKEND="openai",
                HRBATCH_OPENAI_BASE_URL=server.base_url,
                HRBATCH_MAX_NUM_CTX="4096",
            )
            _run(
                "probe_backend: a real llama.cpp server (llama-cpp-python, SmolLM2-135M, CPU)",
                [
                    PYTHON,
                    "manage.py",
                    "probe_backend",
                    "--max-concurrency",
                    "4",
                    "--requests-per-step",
                    "8",
                    "--no-store",
                ],
                env,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
