"""The LLM client alone, no engine: a reference for saturation.py (benchmarks only).

    python bench/_client_baseline.py URL REQUESTS.json CONCURRENCY

Sends the given chat requests (the engine's own payloads, written by saturation.py) through
the engine's `OllamaBackend` from one event loop, keeping exactly CONCURRENCY in flight, and
prints one JSON line: requests/s and latency figures. Whatever this loses against P/L is
lost in the client library, the transport and the fake server, not in the engine.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluations.llm.base import ChatRequest  # noqa: E402
from evaluations.llm.ollama_backend import OllamaBackend  # noqa: E402


async def run(url: str, requests: list[ChatRequest], concurrency: int) -> dict[str, float]:
    backend = OllamaBackend([url], timeout=60.0)
    latencies: list[float] = []
    pending = iter(requests)

    async def lane() -> None:
        for request in pending:
            started = time.perf_counter()
            await backend.chat(request)
            latencies.append(time.perf_counter() - started)

    await backend.chat(requests[0])  # connect and warm up, not timed
    t0 = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(lane() for _ in range(concurrency))), timeout=600)
    seconds = time.perf_counter() - t0
    await backend.aclose()
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": seconds,
        "rate": len(latencies) / seconds,
        "latency_mean_ms": 1000 * statistics.mean(latencies),
        "latency_p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }


def main() -> int:
    url, path, concurrency = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    requests = [ChatRequest(**body) for body in json.loads(path.read_text())]
    print(json.dumps(asyncio.run(run(url, requests, concurrency))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
