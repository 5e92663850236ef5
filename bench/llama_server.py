"""Issue 19's figures in one run against llama.cpp's own server (`llama-server --parallel 4`,
the embedded SmolLM2-135M GGUF, CPU), each step run as a person would: a subprocess of
manage.py configured by environment variables (HRBATCH_LLM_BACKEND=openai,
HRBATCH_OPENAI_BASE_URL, HRBATCH_MODEL=smollm2-135m) on a fresh data directory.

    .venv/bin/python bench/llama_server.py [--csv RESUMES] [--limit 8] [--n 32]
        [--positions 8] [--parallel 4] [--threads 1] [--max-concurrency 8]
        [--requests-per-step 8] [--skip-probe --knee K] [--skip-efficiency] [--skip-jobs]
        [--skip-formats]

The defaults take ~10 minutes on 2 quiet cores (15 shared): llama-server evaluates a ~1,000-token
résumé prompt at ~150 tokens/s there, so each request costs seconds. The cache step keeps
issue 19's ratio of 4 candidates per job (200 over 50) at 32 over 8; `--n 200 --positions
50` is the issue's case (~1 h). One llama.cpp thread by default: on 2 cores the second core
is hrbatch's (or the bare client's), and two llama.cpp threads on a core another process
uses wait for each other at every step (generation went from 65 to 3-22 tokens/s).

1. The knee: `manage.py probe_backend --max-concurrency 8 --csv RESUMES --no-store` on the
   first `--limit` rows of `--csv` (../shared/data/resume_data_97.csv when it exists, else
   tests/fixtures/resumes_35_columns.csv): requests/s at 1, 2, 4, 8 in flight.
2. hrbatch's efficiency on the real engine: `manage.py evaluate` on those candidates at the
   knee (HRBATCH_CONCURRENCY=knee, HRBATCH_WORKERS=1, HRBATCH_CONSISTENCY_PCT=0) through a
   capture proxy (an asyncio TCP forwarder on loopback in this process, recording the bytes
   each way and when, per connection). The POST /v1/chat/completions bodies it sent are then
   replayed, the very same bytes, by a bare client (httpx.AsyncClient, as many lanes as the
   knee) straight to a freshly started server. Printed: evaluate's wall time and candidates/s
   end to end, hrbatch's requests/s on the wire (first request sent -> last response
   received), the bare client's, and the ratios (goal >= 0.95; printed, not asserted).
3. The prompt cache with `--positions` jobs: `generate_candidates N --positions P --jobs-out`,
   one `evaluate --jobs` through the proxy to capture hrbatch's bodies, then those bodies
   replayed on a fresh server each time (a) in the file's order (each row's position takes
   the next body of its job), (b) in the order hrbatch sent them (grouped by job), (c) grouped
   with slot affinity: a job's requests carry llama-server's `id_slot` = the job's index mod
   the slot count, and one lane per slot sends its jobs in turn (so the lanes never queue for
   one slot). Printed: the cached share of prompt tokens from the server's own counters
   (usage.prompt_tokens_details.cached_tokens over usage.prompt_tokens) and requests/s.
4. Output tokens per candidate per answer format (array, keyed, compact) under hrbatch's
   GBNF grammar (evaluate through the proxy, the answers read back from the wire), then the
   same bodies with OpenAI's `response_format: json_schema` (the run's schema, built as
   hrbatch builds it) instead of `grammar`, same token cap: tokens per candidate, answers
   cut off (finish_reason "length") and answers padded (evaluations.answer_grammar.padding).

Nothing is asserted; the figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

from devtools.llama_server import LlamaCppServer

ROOT = C.ROOT
FIXTURE = ROOT / "tests" / "fixtures" / "resumes_35_columns.csv"
CHAT = b"/v1/chat/completions"

# --- the capture proxy --------------------------------------------------------------------


@dataclass
class Stream:
    """One direction of one connection: the bytes and when each piece went through."""

    data: bytearray = field(default_factory=bytearray)
    offsets: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def add(self, chunk: bytes) -> None:
        self.offsets.append(len(self.data))
        self.times.append(time.monotonic())
        self.data += chunk

    def time_at(self, offset: int) -> float:
        return self.times[bisect.bisect_right(self.offsets, offset) - 1]


def _messages(stream: Stream, chunked_ok: bool) -> Iterator[tuple[bytes, bytes, float, float]]:
    """HTTP/1.1 messages in one direction: (start line, body, first byte's time, last's)."""
    data, pos = bytes(stream.data), 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            return
        head = data[pos:end].split(b"\r\n")
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (h.partition(b":") for h in head[1:])
        }
        start, body_at = pos, end + 4
        if chunked_ok and headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body, at = bytearray(), body_at
            while True:
                eol = data.find(b"\r\n", at)
                size = int(data[at:eol].split(b";")[0], 16)
                body += data[eol + 2 : eol + 2 + size]
                at = eol + 2 + size + 2
                if size == 0:
                    break
            pos = at
        else:
            length = int(headers.get(b"content-length", b"0"))
            body, pos = data[body_at : body_at + length], body_at + length
        yield head[0], bytes(body), stream.time_at(start), stream.time_at(max(pos - 1, start))


@dataclass
class Exchange:
    body: dict[str, Any]
    raw: bytes
    sent: float
    answered: float
    response: dict[str, Any]


class CaptureProxy:
    """A TCP forwarder on 127.0.0.1 between hrbatch and the server, in a thread of this
    process; it records every connection's bytes both ways for parsing afterwards."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.port = 0
        self.connections: list[tuple[Stream, Stream]] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> CaptureProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        sent, received = Stream(), Stream()
        self.connections.append((sent, received))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, log: Stream) -> None:
            try:
                while chunk := await src.read(65536):
                    log.add(chunk)
                    dst.write(chunk)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer, sent), pipe(up_reader, writer, received))

    def exchanges(self) -> list[Exchange]:
        """Every POST /v1/chat/completions with its answer, in the order they were sent."""
        out: list[Exchange] = []
        for sent, received in list(self.connections):
            answers = list(_messages(received, chunked_ok=True))
            for i, (line, body, t0, _) in enumerate(_messages(sent, chunked_ok=True)):
                if not line.startswith(b"POST ") or CHAT not in line:
                    continue
                status, answer, _, t1 = answers[i] if i < len(answers) else (b"", b"{}", 0, 0)
                response = json.loads(answer or b"{}") if b" 200 " in status + b" " else {}
                out.append(Exchange(json.loads(body), body, t0, t1, response))
        return sorted(out, key=lambda e: e.sent)


# --- the bare client ----------------------------------------------------------------------


@dataclass
class Replay:
    seconds: float
    responses: list[dict[str, Any]]

    @property
    def rate(self) -> float:
        return len(self.responses) / self.seconds if self.seconds else 0.0


def replay(base_url: str, lanes: list[list[bytes]], timeout: float = 600.0) -> Replay:
    """Send each lane's bodies one after another, the lanes side by side, from one event
    loop; `lanes` of one shared list each (same object) make a common queue."""

    async def go() -> Replay:
        responses: list[dict[str, Any]] = []
        queues: dict[int, Iterator[bytes]] = {}
        headers = {"content-type": "application/json"}
        url = f"{base_url}/chat/completions"
        async with httpx.AsyncClient(timeout=timeout) as client:

            async def lane(bodies: list[bytes]) -> None:
                it = queues.setdefault(id(bodies), iter(bodies))
                for raw in it:
                    r = await client.post(url, content=raw, headers=headers)
                    responses.append(r.json() if r.status_code == 200 else {"error": r.text})

            t0 = time.monotonic()
            await asyncio.gather(*(lane(b) for b in lanes))
            return Replay(time.monotonic() - t0, responses)

    return asyncio.run(go())


def cache_share(responses: list[dict[str, Any]]) -> tuple[int, int]:
    """(cached prompt tokens, prompt tokens) by the server's own counters."""
    cached = prompt = 0
    for r in responses:
        usage = r.get("usage") or {}
        prompt += usage.get("prompt_tokens", 0)
        details = usage.get("prompt_tokens_details") or {}
        cached += details.get("cached_tokens", (r.get("timings") or {}).get("cache_n", 0))
    return cached, prompt


# --- running hrbatch ----------------------------------------------------------------------


def _env(data: Path, base_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        HRBATCH_DATA_DIR=str(data),
        HRBATCH_LLM_BACKEND="openai",
        HRBATCH_OPENAI_BASE_URL=base_url,
        HRBATCH_MODEL="smollm2-135m",
        HRBATCH_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def _manage(args: list[str], env: dict[str, str], quiet: bool = False) -> str:
    print("$ " + " ".join(["manage.py", *args]), flush=True)
    done = subprocess.run(
        [C.PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0 or not quiet:
        sys.stdout.write(done.stdout[-3000:])
    if done.returncode != 0:
        sys.stdout.write(done.stderr[-3000:])
        raise SystemExit(f"manage.py {args[0]} failed ({done.returncode})")
    return done.stdout


def evaluate(
    server: LlamaCppServer, csv_path: Path, concurrency: int, work: Path, *args: str, **env: str
) -> tuple[float, list[Exchange]]:
    """`manage.py evaluate` through the capture proxy on a fresh data directory:
    (wall seconds, the exchanges on the wire)."""
    data = Path(tempfile.mkdtemp(prefix="data-", dir=work))
    with CaptureProxy(server.port) as proxy:
        e = _env(
            data,
            proxy.base_url(),
            HRBATCH_CONCURRENCY=str(concurrency),
            HRBATCH_WORKERS="1",
            HRBATCH_CONSISTENCY_PCT="0",
            **env,
        )
        subprocess.run([C.PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=e, check=True)
        out = data / "scored.csv"
        started = time.monotonic()
        _manage(["evaluate", str(csv_path), "--out", str(out), *args], e, quiet=True)
        wall = time.monotonic() - started
        time.sleep(0.2)
        return wall, proxy.exchanges()


def fresh_server(args: argparse.Namespace) -> LlamaCppServer:
    return LlamaCppServer(parallel=args.parallel, ctx=args.ctx, threads=args.threads)


def first_rows(src: Path, limit: int, dest: Path) -> Path:
    with src.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with dest.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows[: limit + 1])
    return dest


# --- the four steps -----------------------------------------------------------------------


def step_probe(args: argparse.Namespace, resumes: Path, work: Path) -> int:
    print("\n=== 1. the knee: probe_backend on the résumés", flush=True)
    data = Path(tempfile.mkdtemp(prefix="probe-", dir=work))
    with fresh_server(args) as server:
        env = _env(data, server.base_url)
        subprocess.run([C.PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        started = time.monotonic()
        report = json.loads(
            _manage(
                [
                    "probe_backend",
                    "--max-concurrency",
                    str(args.max_concurrency),
                    "--requests-per-step",
                    str(args.requests_per_step),
                    "--csv",
                    str(resumes),
                    "--no-store",
                    "--json",
                ],
                env,
                quiet=True,
            )
        )
    rows = [
        [
            s["concurrency"],
            s["requests"],
            s["errors"],
            f"{s['req_per_s']:.2f}",
            f"{s['p50_ms']:.0f}",
            f"{s['p95_ms']:.0f}",
            f"{s['prompt_tokens']:.0f}",
            f"{s['output_tokens']:.1f}",
        ]
        for s in report["table"]
    ]
    head = ["in flight", "requests", "errors", "req/s", "p50 ms", "p95 ms", "prompt tok", "out tok"]
    print(C.table(rows, head))
    print(f"knee: {report['knee']}   ({time.monotonic() - started:.0f} s)")
    server_view = report.get("server") or {}
    if server_view.get("note"):
        print(f"server: {server_view['note']}")
    return int(report["knee"])


def step_efficiency(
    args: argparse.Namespace, resumes: Path, knee: int, work: Path
) -> list[Exchange]:
    print(f"\n=== 2. hrbatch against a bare client, {knee} in flight (the knee)", flush=True)
    with fresh_server(args) as server:
        wall, seen = evaluate(server, resumes, knee, work)
    with fresh_server(args) as server:
        shared = [e.raw for e in seen]
        bare = replay(server.base_url, [shared] * knee)
    n = args.limit
    span = max(e.answered for e in seen) - min(e.sent for e in seen)
    wire = len(seen) / span
    rows = [
        ["evaluate, end to end", n, len(seen), f"{wall:.1f}", f"{n / wall:.3f} cand/s"],
        ["hrbatch on the wire", "", len(seen), f"{span:.1f}", f"{wire:.3f} req/s"],
        ["bare client (same bodies)", "", len(bare.responses), f"{bare.seconds:.1f}",
         f"{bare.rate:.3f} req/s"],
    ]  # fmt: skip
    print(C.table(rows, ["", "candidates", "requests", "seconds", "rate"]))
    print(
        f"hrbatch on the wire / bare: {wire / bare.rate:.3f}   "
        f"candidates/s end to end / bare req/s: {n / wall / bare.rate:.3f}   (goal >= 0.95)"
    )
    return seen


def _job_keys(seen: list[Exchange]) -> list[str]:
    return [e.body["messages"][0]["content"] for e in seen]


def file_order(seen: list[Exchange], candidates: Path, jobs: Path) -> tuple[list[bytes], int]:
    """hrbatch's bodies in the file's order of jobs: each row's position takes the next body
    of its job (a job known by its system message: "Job: <title>" and the job's text).
    Returns (the bodies, how many were placed by a row's position; the rest follow)."""
    with jobs.open(newline="", encoding="utf-8") as f:
        titles = [r["title"] for r in csv.DictReader(f)]
    by_job: dict[str, list[bytes]] = defaultdict(list)
    for key, e in zip(_job_keys(seen), seen, strict=True):
        title = next((t for t in titles if f"Job: {t}\n" in key), key)
        by_job[title].append(e.raw)
    with candidates.open(newline="", encoding="utf-8") as f:
        positions = [r["position"] for r in csv.DictReader(f)]
    ordered = [by_job[p].pop(0) for p in positions if by_job.get(p)]
    return ordered + [raw for rest in by_job.values() for raw in rest], len(ordered)


def with_slot(raw: bytes, slot: int) -> bytes:
    body = json.loads(raw)
    body["id_slot"] = slot
    return json.dumps(body).encode()


def pinned(seen: list[Exchange], slots: int, lanes: int) -> list[list[bytes]]:
    """hrbatch's bodies with `id_slot` = the job's index mod `slots`, in hrbatch's order;
    lane i sends the jobs whose slot mod `lanes` is i (so lanes never queue for one slot
    while another lane waits on another job's slot)."""
    keys = _job_keys(seen)
    index = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    out: list[list[bytes]] = [[] for _ in range(lanes)]
    for key, e in zip(keys, seen, strict=True):
        slot = index[key] % slots
        out[slot % lanes].append(with_slot(e.raw, slot))
    return out


def step_jobs(args: argparse.Namespace, knee: int, work: Path) -> None:
    print(f"\n=== 3. the prompt cache: {args.n} candidates, {args.positions} jobs", flush=True)
    candidates, jobs = work / "candidates.csv", work / "jobs.csv"
    gen = ["generate_candidates", str(args.n), "--positions", str(args.positions)]
    gen += ["--out", str(candidates), "--jobs-out", str(jobs)]
    _manage(gen, _env(work, ""), quiet=True)
    with fresh_server(args) as server:
        wall, seen = evaluate(server, candidates, knee, work, "--jobs", str(jobs))
    cached, prompt = cache_share([e.response for e in seen])
    span = max(e.answered for e in seen) - min(e.sent for e in seen)
    rows = [["evaluate --jobs (hrbatch, live)", knee, len(seen), f"{100 * cached / prompt:.1f} %",
             f"{prompt / len(seen):.0f}", f"{len(seen) / span:.3f}"]]  # fmt: skip
    keys = _job_keys(seen)
    index = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    slots = args.parallel
    filed, placed = file_order(seen, candidates, jobs)
    grouped = [e.raw for e in seen]
    orders = [
        ("(a) file order", [filed] * knee, knee),
        ("(b) grouped by job (hrbatch's order)", [grouped] * knee, knee),
        (f"(c) grouped, id_slot = job index mod {slots}", pinned(seen, slots, knee), knee),
    ]
    if knee != slots:
        title = "(c') the same, a lane per slot"
        orders.append((title, pinned(seen, slots, slots), slots))
    for title, lanes, n_lanes in orders:
        with fresh_server(args) as server:
            done = replay(server.base_url, lanes)
        cached, prompt = cache_share(done.responses)
        n = len(done.responses)
        rows.append([title, n_lanes, n, f"{100 * cached / max(prompt, 1):.1f} %",
                     f"{prompt / max(n, 1):.0f}", f"{done.rate:.3f}"])  # fmt: skip
    head = ["order", "lanes", "requests", "cached share", "prompt tok/req", "req/s"]
    print(C.table(rows, head))
    print(
        f"(evaluate's wall time: {wall:.1f} s; {len(index)} distinct system messages; "
        f"(a): {placed} of {len(seen)} bodies placed by their row's position)"
    )


def answer_schema(answer_format: str, content: str) -> dict[str, Any]:
    """The run's JSON schema as hrbatch builds it (the default rubric's criteria; with a
    rationale when the grammar's answers carry one)."""
    from evaluations import prompting
    from evaluations.rubric_content import DEFAULT_CRITERIA

    keys = [c["key"] for c in DEFAULT_CRITERIA]
    try:
        answer = json.loads(content)
    except ValueError:
        answer = None
    if answer_format == "keyed":
        rationale = isinstance(answer, dict) and "rationale" in answer
        return prompting.scores_schema(keys, rationale)
    if answer_format == "array":
        rationale = isinstance(answer, list) and len(answer) == len(keys) + 1
        return prompting.scores_array_schema(keys, rationale)
    return prompting.scores_compact_schema(keys, isinstance(answer, list))


def with_schema(raw: bytes, schema: dict[str, Any]) -> bytes:
    body = json.loads(raw)
    body.pop("grammar", None)
    body["response_format"] = {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": True},
    }
    return json.dumps(body).encode()


def _answers(responses: list[dict[str, Any]]) -> list[str]:
    rows = []
    tokens = [(r.get("usage") or {}).get("completion_tokens", 0) for r in responses]
    choices = [(r.get("choices") or [{}])[0] for r in responses]
    contents = [(c.get("message") or {}).get("content") or "" for c in choices]
    from evaluations.answer_grammar import padding

    cut = sum(c.get("finish_reason") == "length" for c in choices)
    padded = [padding(text) for text in contents]
    rows.append(f"{sum(tokens) / max(len(tokens), 1):.1f}")
    rows.append(str(sorted(tokens)[len(tokens) // 2] if tokens else ""))
    rows.append(f"{cut}/{len(responses)}")
    rows.append(f"{sum(p > 0 for p in padded)} ({sum(padded)} chars)")
    rows.append(repr(contents[0][:48]) if contents else "")
    return rows


def step_formats(
    args: argparse.Namespace,
    resumes: Path,
    knee: int,
    work: Path,
    array: list[Exchange] | None,
) -> None:
    print(f"\n=== 4. output tokens per candidate per answer format ({args.limit} résumés)")
    runs: dict[str, list[Exchange]] = {"array": array} if array else {}
    with fresh_server(args) as server:
        for fmt in [f for f in ("array", "keyed", "compact") if f not in runs]:
            runs[fmt] = evaluate(server, resumes, knee, work, HRBATCH_ANSWER_FORMAT=fmt)[1]
        rows = []
        for fmt in ("array", "keyed", "compact"):
            seen = runs[fmt]
            caps = {e.body.get("max_tokens") for e in seen}
            has = "grammar" in seen[0].body
            rows.append([fmt, "grammar" if has else "schema (hrbatch's)", caps,
                         *_answers([e.response for e in seen])])  # fmt: skip
            first = next((e for e in seen if e.response), seen[0])
            content = first.response.get("choices", [{}])[0].get("message", {}).get("content")
            schema = answer_schema(fmt, content or "")
            done = replay(server.base_url, [[with_schema(e.raw, schema) for e in seen]] * knee)
            rows.append([fmt, "json_schema instead", caps, *_answers(done.responses)])
    head = ["format", "constraint", "max_tokens", "out tok/cand", "median", "cut off", "padded",
            "first answer"]  # fmt: skip
    print(C.table(rows, head))


def _our_cpu() -> float:
    """CPU·s of this process and its finished children (manage.py, llama-server)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    default_csv = C.PUBLIC_RESUMES if C.PUBLIC_RESUMES.exists() else FIXTURE
    p.add_argument("--csv", type=Path, default=default_csv, help=f"résumés ({default_csv})")
    p.add_argument("--limit", type=int, default=8, help="first rows of --csv (8)")
    p.add_argument("--n", type=int, default=32, help="candidates for the cache step (32)")
    p.add_argument("--positions", type=int, default=8, help="their jobs (8)")
    p.add_argument("--parallel", type=int, default=4, help="llama-server slots (4)")
    p.add_argument("--ctx", type=int, default=4096, help="tokens per slot (4096)")
    p.add_argument("--threads", type=int, default=1, help="llama-server threads (1)")
    p.add_argument("--max-concurrency", type=int, default=8, help="probe up to (8)")
    p.add_argument("--requests-per-step", type=int, default=8, help="probe (8)")
    p.add_argument("--skip-probe", action="store_true", help="use --knee instead")
    p.add_argument("--knee", type=int, default=4, help="with --skip-probe (4)")
    p.add_argument("--skip-efficiency", action="store_true", help="leave out step 2")
    p.add_argument("--skip-jobs", action="store_true", help="leave out step 3")
    p.add_argument("--skip-formats", action="store_true", help="leave out step 4")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hrbatch-bench-llama-server-"))
    print(f"code {C.code_version()}; llama-server --parallel {args.parallel}, {args.ctx} tokens "
          f"per slot, {args.threads} threads; work dir {work}")  # fmt: skip
    started, busy, ours = time.monotonic(), C.machine_busy(), _our_cpu()
    try:
        resumes = first_rows(args.csv, args.limit, work / "resumes.csv")
        print(f"résumés: first {args.limit} rows of {args.csv}")
        knee = args.knee if args.skip_probe else step_probe(args, resumes, work)
        array = None if args.skip_efficiency else step_efficiency(args, resumes, knee, work)
        if not args.skip_jobs:
            step_jobs(args, knee, work)
        if not args.skip_formats:
            step_formats(args, resumes, knee, work, array)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    seconds = time.monotonic() - started
    print(f"\n({seconds / 60:.1f} min)")
    print(C.foreign_note(C.machine_busy() - busy - (_our_cpu() - ours), seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
