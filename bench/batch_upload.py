"""A 170,000-line batch file through the real API: upload (streamed multipart over HTTP to
`manage.py serve`) and validation (a worker reads and checks every line), with the memory
of every server process sampled throughout. Prints figures; asserts nothing.

    .venv/bin/python bench/batch_upload.py [--n 170000]

Target (issue 4): validated in <= 30 s with flat memory.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_requests(path: Path, n: int) -> int:
    from devtools.synthetic import generate_candidates

    system = (
        "You screen job applicants for the position they applied for. Score the candidate "
        'from 1 to 10 and answer with JSON: {"score": <integer>}.'
    )
    with open(path, "w", encoding="utf-8") as out:
        for candidate in generate_candidates(n, seed=3):
            text = (
                f"Position: {candidate['position']}\nSkills: {candidate['skills']}\n"
                f"Experience: {candidate['work_history']}"
            )
            line = {
                "custom_id": candidate["id"],
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {
                    "model": "gemma3:12b",
                    "temperature": 0,
                    "max_tokens": 16,
                    "messages": [
                        {"role": "system", "content": system},
                        {"role": "user", "content": text},
                    ],
                },
            }
            out.write(json.dumps(line) + "\n")
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=170_000)
    args = parser.parse_args()

    import httpx
    import psutil

    from devtools import live
    from devtools.fake_ollama import FakeOllama

    data = Path(tempfile.mkdtemp(prefix="hrbatch-bench-api-"))
    requests = data / "requests.jsonl"
    size = write_requests(requests, args.n)

    with FakeOllama(slots=8, latency=0.0) as fake:
        fake.record_requests = False
        env = live.app_env(data / "app", fake)
        live.manage(env, "migrate", "-v", "0")
        live.manage(
            env,
            "shell",
            "-c",
            "from django.contrib.auth.models import User; User.objects.create_user('it')",
        )
        key = live.manage(env, "create_api_key", "--name", "bench", "--user", "it").stdout.strip()
        process, url = live.start_serve(env)
        headers = {"Authorization": f"Bearer {key}"}
        peak: dict[int, tuple[str, int]] = {}
        stop = threading.Event()

        def sample() -> None:
            root = psutil.Process(process.pid)
            while not stop.is_set():
                for proc in [root, *root.children(recursive=True)]:
                    try:
                        rss = proc.memory_info().rss
                        name = " ".join(proc.cmdline()[1:3])[:40]
                    except psutil.Error:
                        continue
                    if rss > peak.get(proc.pid, ("", 0))[1]:
                        peak[proc.pid] = (name, rss)
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        time.sleep(3)  # the cluster's processes exist before sampling starts
        rss_idle = sum(p.memory_info().rss for p in psutil.Process(process.pid).children(True))
        sampler.start()
        try:
            started = time.perf_counter()
            with open(requests, "rb") as handle:
                uploaded = httpx.post(
                    url + "/v1/files",
                    headers=headers,
                    files={"file": ("requests.jsonl", handle, "application/jsonl")},
                    data={"purpose": "batch"},
                    timeout=600,
                ).json()
            upload_s = time.perf_counter() - started
            batch = httpx.post(
                url + "/v1/batches",
                headers=headers,
                json={
                    "input_file_id": uploaded["id"],
                    "endpoint": "/v1/chat/completions",
                    "completion_window": "24h",
                },
                timeout=60,
            ).json()
            while batch["status"] == "validating":
                time.sleep(0.2)
                batch = httpx.get(f"{url}/v1/batches/{batch['id']}", headers=headers).json()
            validated_s = time.perf_counter() - started
            httpx.post(f"{url}/v1/batches/{batch['id']}/cancel", headers=headers, timeout=60)
        finally:
            stop.set()
            sampler.join()
            live.stop_serve(process)

    print(f"hrbatch Batch API benchmark — {args.n:,} lines, {size / 1e6:,.1f} MB, SQLite")
    print(f"  upload (HTTP multipart)      {upload_s:6.1f} s  ({size / 1e6 / upload_s:,.0f} MB/s)")
    print(
        f"  upload + validation          {validated_s:6.1f} s  (target <= 30 s) -> "
        f"status {batch['status']}, {batch['request_counts']['total']:,} requests"
    )
    print(f"  server processes idle        {rss_idle / 2**20:,.0f} MB RSS (children)")
    for name, rss in sorted(peak.values(), key=lambda p: -p[1]):
        print(f"  peak RSS {name:<40} {rss / 2**20:6.0f} MB")


if __name__ == "__main__":
    main()
