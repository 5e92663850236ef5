"""Shared plumbing for the benchmarks in bench/ (not a benchmark itself).

Every benchmark: its own temporary HRBATCH_DATA_DIR (set before django.setup()), SQLite,
real subprocesses where production uses them, bounded waits everywhere, figures printed
(never asserted).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
PY = (
    str(ROOT / ".venv" / "bin" / "python")
    if (ROOT / ".venv/bin/python").exists()
    else sys.executable
)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MB = 1024 * 1024
# The public résumés in ../shared/data, beside the checkout or beside a folder of worktrees
# holding it (on our machines; a user's clone has no ../shared: pass the bench a file).
PUBLIC_RESUMES = next(
    (
        parent / "shared" / "data" / "resume_data_97.csv"
        for parent in ROOT.parents
        if (parent / "shared" / "data").is_dir()
    ),
    ROOT.parent / "shared" / "data" / "resume_data_97.csv",
)

# Every subprocess a benchmark starts, stopped (by pid) on the way out whatever happens.
PROCS: list[subprocess.Popen[Any]] = []


def stop_all() -> None:
    while PROCS:
        stop_process(PROCS.pop())


atexit.register(stop_all)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # run the finally blocks and atexit: stop our subprocesses


signal.signal(signal.SIGTERM, _on_sigterm)


# --- environment / django -------------------------------------------------------------------


def make_data_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"hrbatch-bench-{prefix}-"))


def setup_django(data_dir: Path, env: dict[str, str]) -> None:
    """Point settings at `data_dir` (+ extra env), set Django up, migrate a fresh DB."""
    os.environ["HRBATCH_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("HRBATCH_LOG_LEVEL", "WARNING")
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrbatch.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    import logging

    import django_q.conf  # noqa: F401 - sets the "django-q" logger up; quiet it afterwards

    # django-q2 logs every enqueued task at INFO to its own "django-q" logger (the
    # "django_q" entry of settings.LOGGING does not reach it); keep the output to figures.
    logging.getLogger("django-q").setLevel(logging.WARNING)


def unload_embedded_model() -> None:
    """Free the llama.cpp model now: left to interpreter shutdown, its __del__ fails noisily."""
    try:
        from evaluations.llm import embedded

        embedded.unload_model()
    except Exception:
        pass


def cleanup(data_dir: Path, keep: bool) -> None:
    if keep:
        print(f"(data dir kept: {data_dir})")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)


# --- subprocesses ----------------------------------------------------------------------------


def start_fake(
    slots: int, latency: float, timeout: float = 20.0
) -> tuple[subprocess.Popen[str], str]:
    """`python -m devtools.fake_ollama` as a subprocess (its own GIL); returns (proc, url)."""
    proc = subprocess.Popen(
        [
            PY,
            "-m",
            "devtools.fake_ollama",
            "--port",
            "0",
            "--slots",
            str(slots),
            "--latency",
            str(latency),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    PROCS.append(proc)
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            # Keep draining its output so a chatty server can never block on a full pipe.
            threading.Thread(target=_drain, args=(proc.stdout,), daemon=True).start()
            return proc, match.group(1)
    stop_process(proc)
    raise RuntimeError("the fake Ollama server did not start")


def _drain(stream: Any) -> None:
    for _ in stream:
        pass


def start_qcluster(log_path: Path, *, what_if: bool = False) -> subprocess.Popen[bytes]:
    """`manage.py qcluster`, as `manage.py serve` runs it in production (same env).

    `what_if`: run bench/_qcluster.py instead (BENCH_Q_POLL / BENCH_PREIMPORT tweaks)."""
    command = (
        [str(ROOT / "bench" / "_qcluster.py")] if what_if else [str(ROOT / "manage.py"), "qcluster"]
    )
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [PY, *command],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    PROCS.append(proc)
    return proc


def stop_process(proc: subprocess.Popen[Any] | None, timeout: float = 30.0) -> None:
    """SIGTERM, wait, then SIGKILL what is left of *this* process tree (by pid)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        tree = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        tree = []
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    for child in tree:
        with contextlib.suppress(psutil.Error):
            child.kill()


# --- sampling ----------------------------------------------------------------------------------


def machine_busy() -> float:
    """CPU·s the whole machine has been busy (all cores, all processes) since boot."""
    t = psutil.cpu_times()
    skip = {"idle", "iowait", "guest", "guest_nice"}  # guest time is already in user/nice
    return sum(v for k, v in t._asdict().items() if k not in skip)


def _all_cpu() -> dict[int, tuple[str, float]]:
    """pid → (short command line, CPU·s) of every process on the machine."""
    out = {}
    for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        times = proc.info.get("cpu_times")
        if times is None:
            continue
        cmd = " ".join(proc.info.get("cmdline") or []) or proc.info.get("name") or "?"
        out[proc.pid] = (cmd[:70], times.user + times.system)
    return out


def foreign_note(foreign: float, seconds: float) -> str:
    """How much CPU processes other than this benchmark's took, with a warning if it matters."""
    share = 100 * max(foreign, 0.0) / max(seconds * (os.cpu_count() or 1), 1e-9)
    note = f"other processes on the machine used {max(foreign, 0):.1f} CPU·s ({share:.0f}% of it)"
    if share > 5:
        note += " — WARNING: the machine was not quiet, figures are pessimistic; rerun"
    return note


@dataclass
class ProcStat:
    pid: int
    role: str
    peak_rss: int = 0
    cpu_start: float | None = None
    cpu_last: float = 0.0
    first_seen: float = 0.0
    last_seen: float = 0.0

    @property
    def cpu_used(self) -> float:
        return max(self.cpu_last - (self.cpu_start or 0.0), 0.0)


@dataclass
class TreeSampler:
    """Every `interval` s: RSS and CPU time of each process in the given trees.

    `roots` maps a label to a root pid; children are labelled by `classify(root_label,
    proc)` (default: "<label> child"). CPU time of a process that exits between two samples
    is counted up to its last sample (at most `interval` s lost per process).
    """

    roots: dict[str, int]
    interval: float = 0.5
    classify: Any = None
    # Root labels sampled without their children (e.g. this driver, whose children are
    # already sampled under their own roots).
    shallow: frozenset[str] = frozenset()
    # Called at every sample; its value is kept in `history` (e.g. the WAL file size).
    extra: Any = None
    # (t, CPU·s of the sampled trees so far, machine busy CPU·s, extra()) per sample.
    history: list[tuple[float, float, float, Any]] = field(default_factory=list)
    _foreign_start: dict[int, tuple[str, float]] = field(default_factory=dict)
    top_foreign: list[tuple[str, float]] = field(default_factory=list)
    stats: dict[int, ProcStat] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    started: float = 0.0
    stopped: float = 0.0
    _initial: bool = False

    busy_start: float = 0.0
    busy_stop: float = 0.0

    @property
    def foreign_cpu(self) -> float:
        """CPU·s used by processes outside the sampled trees while sampling."""
        return (self.busy_stop - self.busy_start) - sum(s.cpu_used for s in self.stats.values())

    def start(self) -> TreeSampler:
        self.started = time.monotonic()
        self.busy_start = machine_busy()
        self._foreign_start = _all_cpu()
        self._initial = True
        self.sample()
        self._initial = False
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.sample()
        self.stopped = time.monotonic()
        self.busy_stop = machine_busy()
        end = _all_cpu()
        used = {
            pid: (name, cpu - self._foreign_start[pid][1])
            for pid, (name, cpu) in end.items()
            if pid in self._foreign_start and pid not in self.stats
        }
        self.top_foreign = sorted(used.values(), key=lambda v: -v[1])[:3]

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        now = time.monotonic()
        for label, pid in self.roots.items():
            try:
                root = psutil.Process(pid)
                children = [] if label in self.shallow else root.children(recursive=True)
                procs = [(root, label)] + [(child, None) for child in children]
            except psutil.Error:
                continue
            for proc, role in procs:
                try:
                    with proc.oneshot():
                        rss = proc.memory_info().rss
                        times = proc.cpu_times()
                        cpu = times.user + times.system
                except psutil.Error:
                    continue
                stat = self.stats.get(proc.pid)
                if stat is None:
                    if role is None:
                        role = self.classify(label, proc) if self.classify else f"{label} child"
                    # Processes alive when sampling began count CPU from then on; those
                    # born later count all of theirs.
                    stat = ProcStat(
                        proc.pid, role, cpu_start=cpu if self._initial else 0.0, first_seen=now
                    )
                    self.stats[proc.pid] = stat
                stat.peak_rss = max(stat.peak_rss, rss)
                stat.cpu_last = cpu
                stat.last_seen = now
        own = sum(stat.cpu_used for stat in self.stats.values())
        self.history.append((now, own, machine_busy(), self.extra() if self.extra else None))

    def relabel(self, pid: int, role: str) -> None:
        if pid in self.stats:
            self.stats[pid].role = role

    def by_role(self) -> dict[str, dict[str, Any]]:
        """role → {count, peak_rss (max over its processes), cpu (sum)}."""
        out: dict[str, dict[str, Any]] = {}
        for stat in self.stats.values():
            entry = out.setdefault(stat.role, {"count": 0, "peak_rss": 0, "cpu": 0.0})
            entry["count"] += 1
            entry["peak_rss"] = max(entry["peak_rss"], stat.peak_rss)
            entry["cpu"] += stat.cpu_used
        return out


class SelfPeak:
    """Peak RSS of this process during a block (sampled every 50 ms) + ru_maxrss."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.peak = 0
        self.start_rss = 0
        self._stop = threading.Event()
        self._proc = psutil.Process()

    def __enter__(self) -> SelfPeak:
        self.start_rss = self._proc.memory_info().rss
        self.peak = self.start_rss
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        self.t0 = time.perf_counter()
        self.cpu0 = sum(self._proc.cpu_times()[:2])
        self.busy0 = machine_busy()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
        self.cpu = sum(self._proc.cpu_times()[:2]) - self.cpu0
        self.foreign = machine_busy() - self.busy0 - self.cpu
        self._stop.set()
        self._thread.join(timeout=2)
        self.peak = max(self.peak, self._proc.memory_info().rss)
        self.ru_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --- run helpers ----------------------------------------------------------------------------------


def generate_csv(path: Path, n: int, seed: int = 0) -> float:
    """`manage.py generate_candidates` in a subprocess (keeps this process's RSS clean)."""
    t0 = time.perf_counter()
    subprocess.run(
        [
            PY,
            str(ROOT / "manage.py"),
            "generate_candidates",
            str(n),
            "--out",
            str(path),
            "--seed",
            str(seed),
        ],
        cwd=ROOT,
        env=dict(os.environ),
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=1800,
    )
    return time.perf_counter() - t0


def upload(path: Path) -> Any:
    from evaluations import services
    from evaluations.models import File

    return services.file_create(
        owner=None, source=path, filename=path.name, purpose=File.Purpose.CANDIDATES
    )


@dataclass
class Timeline:
    """(t, finished) samples of a run, taken by polling the Run row."""

    points: list[tuple[float, int]] = field(default_factory=list)

    def rate_between(self, lo_frac: float, hi_frac: float, total: int) -> float | None:
        lo = next((p for p in self.points if p[1] >= lo_frac * total), None)
        hi = next((p for p in self.points if p[1] >= hi_frac * total), None)
        if lo is None or hi is None or hi[0] <= lo[0]:
            return None
        return (hi[1] - lo[1]) / (hi[0] - lo[0])

    def first_at(self, count: int) -> float | None:
        return next((t for t, c in self.points if c >= count), None)


def wait_for_run(
    run_id: int,
    timeout: float,
    *,
    poll: float = 0.25,
    t0: float | None = None,
    progress_every: float = 15.0,
    alive: Iterable[subprocess.Popen[Any]] = (),
) -> tuple[Any, Timeline, float | None, float | None]:
    """Poll until the run is terminal (or `timeout`). Returns (run, timeline,
    t_all_finished, t_terminal), times relative to `t0`."""
    from evaluations.models import Run

    t0 = time.monotonic() if t0 is None else t0
    timeline = Timeline()
    t_finished = t_terminal = None
    last_print = time.monotonic()
    deadline = time.monotonic() + timeout
    run = Run.objects.get(pk=run_id)
    while time.monotonic() < deadline:
        run = Run.objects.get(pk=run_id)
        now = time.monotonic()
        finished = run.done_count + run.failed_count + run.cancelled_count
        timeline.points.append((now - t0, finished))
        if t_finished is None and run.total_count and finished >= run.total_count:
            t_finished = now - t0
        if run.is_terminal:
            t_terminal = now - t0
            break
        if now - last_print >= progress_every:
            last_print = now
            print(
                f"    … {finished}/{run.total_count} finished after {now - t0:.0f} s "
                f"({run.status})",
                flush=True,
            )
        for proc in alive:
            if proc.poll() is not None:
                print(f"    ! process {proc.pid} exited with {proc.returncode}", flush=True)
                return run, timeline, t_finished, t_terminal
        time.sleep(poll)
    return run, timeline, t_finished, t_terminal


# --- the cluster ----------------------------------------------------------------------------------


def cluster_roles(cluster: object) -> dict[int, str]:
    """pid → role from the cluster's own Stat (sentinel, pusher, monitor, workers)."""
    import psutil
    from django_q.brokers import get_broker
    from django_q.status import Stat

    roles: dict[int, str] = {}
    try:
        stats = Stat.get_all(broker=get_broker())
    except Exception:
        stats = []
    for stat in stats:
        if stat.sentinel:
            roles[stat.sentinel] = "sentinel"
        if stat.pusher:
            roles[stat.pusher] = "pusher"
        if stat.monitor:
            roles[stat.monitor] = "monitor"
        for pid in stat.workers:
            roles[pid] = "worker"
    try:
        for child in psutil.Process(cluster.pid).children(recursive=True):  # type: ignore[attr-defined]
            if child.ppid() == cluster.pid:  # type: ignore[attr-defined]
                roles.setdefault(child.pid, "sentinel")
            else:
                roles.setdefault(child.pid, "worker")
    except psutil.Error:
        pass
    return roles


def wait_cluster_up(cluster: object, workers: int, timeout: float) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        roles = cluster_roles(cluster)
        if (
            sum(1 for r in roles.values() if r == "worker") >= workers
            and "pusher" in roles.values()
        ):
            return roles
        if cluster.poll() is not None:  # type: ignore[attr-defined]
            raise RuntimeError("qcluster exited during start-up")
        time.sleep(0.2)
    raise RuntimeError("qcluster did not come up")


def code_version() -> str:
    """The commit the benchmark ran on (other people commit while benchmarks run)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            text=True,
            capture_output=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "evaluations", "hrbatch"],
            cwd=ROOT,
            text=True,
            capture_output=True,
            timeout=10,
        ).stdout.strip()
        return f"{head}{' + uncommitted changes in evaluations/ or hrbatch/' if dirty else ''}"
    except Exception:
        return "unknown"


# --- printing ------------------------------------------------------------------------------


def table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    out = [
        line,
        "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=False)) + " |",
        line,
    ]
    for row in cells[1:]:
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + " |")
    out.append(line)
    return "\n".join(out)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("MET" if ok else "MISSED")


def mb(n: int) -> str:
    return f"{n / MB:.0f} MB"
