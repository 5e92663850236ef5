"""Wide CSV files against a live `serve` (issue 17, item 2): how long the check page, its
row check and `evaluate` take to answer at 1,000 columns, at HRBATCH_MAX_COLUMNS and at
20,000 columns, and whether another person's page is served meanwhile. Prints figures;
asserts nothing.

    .venv/bin/python bench/wide_csv.py [--columns 1000,cap,20000] [--rows 3] [--timeout 300]
                                       [--keep]

Each file has an ID, a skills column and phone numbers for the rest (kept in the results
only, as personal data), 3 rows: the width is what is measured. A request that has not
answered after --timeout seconds is reported as such (before issue 17, 20,000 columns kept
a server thread busy for 10+ minutes). While the check page is drawn, a second person asks
for their runs list every 0.25 s: the table gives how many of those pages came back and the
slowest one.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

from devtools import live
from devtools.fake_ollama import FakeOllama

PASSWORD = "bench-password-123"


def write_wide_csv(path: Path, columns: int, rows: int) -> Path:
    header = ["id", "skills"] + [f"phone_{n}" for n in range(2, columns)]
    lines = [",".join(header)]
    lines += [
        ",".join([f"C{r}", "Python and SQL"] + [f"555-{n:04d}" for n in range(2, columns)])
        for r in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def signed_in(url: str, username: str, timeout: float) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=timeout, follow_redirects=False)
    page = client.get("/accounts/login/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, "no sign-in form"
    client.post(
        "/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
    )
    return client


def upload(client: httpx.Client, path: Path) -> str:
    page = client.get("/runs/new/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, "no upload form"
    response = client.post(
        "/runs/new/",
        data={"csrfmiddlewaretoken": token[1]},
        files={"file": (path.name, path.read_bytes(), "text/csv")},
    )
    return response.headers["location"]


class Neighbour:
    """Another person asking for their runs list every 0.25 s while we measure."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.latencies: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Neighbour:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                ok = self.client.get("/").status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                self.latencies.append(time.perf_counter() - started)
            else:
                self.failures += 1
            self._stop.wait(0.25)

    def summary(self) -> str:
        if not self.latencies:
            return f"none served ({self.failures} failed)"
        slowest = max(self.latencies) * 1000
        return f"{len(self.latencies)} served, slowest {slowest:.0f} ms, {self.failures} failed"


def timed_get(client: httpx.Client, url: str, params: dict[str, str] | None = None) -> str:
    started = time.perf_counter()
    try:
        response = client.get(url, params=params)
    except httpx.TimeoutException:
        return f"no answer in {client.timeout.read:.0f} s"
    seconds = time.perf_counter() - started
    return f"{seconds:.2f} s ({response.status_code}, {len(response.content) / 1e6:.1f} MB)"


def form_as_shown(page: str) -> dict[str, str]:
    """The ID column and every column's use, as the check page offers them."""
    query = {"id_column": "id"}
    for index, role in re.findall(
        r'<select name="role_(\d+)"[^>]*>.*?<option value="(\w+)" selected>', page, re.S
    ):
        query[f"role_{index}"] = role
    return query


def run_evaluate(env: dict[str, str], source: Path, out: Path, timeout: float) -> str:
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [C.PY, "manage.py", "evaluate", str(source), "--out", str(out)],
            cwd=C.ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return f"no answer in {timeout:.0f} s"
    seconds = time.perf_counter() - started
    said = (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or [""])[-1]
    outcome = "scored" if done.returncode == 0 else f"exit {done.returncode}: {said[:60]}"
    return f"{seconds:.1f} s ({outcome})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", default="1000,cap,20000")
    parser.add_argument("--rows", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    data = C.make_data_dir("wide")
    print(f"code: {C.code_version()}")
    rows = []
    busy_before, clock = C.machine_busy(), time.monotonic()
    with FakeOllama(slots=4) as fake:
        env = live.app_env(data / "app", fake)
        (data / "app").mkdir()
        live.manage(env, "migrate", "-v", "0")
        for name in ("ann", "bob"):
            make = (
                "from django.contrib.auth.models import User; "
                f"User.objects.create_user('{name}', '{name}@example.com', '{PASSWORD}')"
            )
            live.manage(env, "shell", "-c", make)
        cap = int(
            live.manage(
                env,
                "shell",
                "-c",
                # 0 on a version without the limit (to measure the code before it).
                "from django.conf import settings; print(settings.HRBATCH.get('MAX_COLUMNS', 0))",
            ).stdout.split()[-1]
        )
        serve, url = live.start_serve(env, log=data / "serve.log")
        try:
            ann = signed_in(url, "ann", args.timeout)
            bob = signed_in(url, "bob", 30)
            for wanted in args.columns.split(","):
                columns = (cap or 2000) if wanted == "cap" else int(wanted)
                source = write_wide_csv(data / f"wide-{columns}.csv", columns, args.rows)
                location = upload(ann, source)
                with Neighbour(bob) as neighbour:
                    page_time = timed_get(ann, location)
                try:
                    page = ann.get(location).text if "no answer" not in page_time else ""
                except httpx.HTTPError:
                    page = ""
                check_url = location.rstrip("/") + "/check/"
                check_time = timed_get(ann, check_url, form_as_shown(page) if page else None)
                evaluate = run_evaluate(env, source, data / f"scored-{columns}.csv", args.timeout)
                rows.append(
                    [
                        f"{columns:,}" + (" (cap)" if columns == cap else ""),
                        f"{source.stat().st_size / 1e3:,.0f} KB",
                        page_time,
                        check_time,
                        evaluate,
                        neighbour.summary(),
                    ]
                )
        finally:
            stopped = time.perf_counter()
            live.stop_serve(serve)
            stop_seconds = time.perf_counter() - stopped
    print(
        C.table(
            rows,
            [
                "columns",
                "file",
                "check page",
                "row check",
                "evaluate",
                "another person's page meanwhile",
            ],
        )
    )
    print(f"serve stopped {stop_seconds:.1f} s after Ctrl-C")
    # This process, serve (and its cluster) and every evaluate: all waited for, so counted.
    own = sum(
        usage.ru_utime + usage.ru_stime
        for usage in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
    )
    print(C.foreign_note(C.machine_busy() - busy_before - own, time.monotonic() - clock))
    C.cleanup(data, args.keep)


if __name__ == "__main__":
    main()
