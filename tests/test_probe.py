"""probe_backend: the concurrency knee measured against the fake Ollama over real HTTP,
stored, and used by HRBATCH_CONCURRENCY=auto; the VRAM estimate and its warnings.

pynvml is the one thing patched (there is no GPU here): its functions report a GPU.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pynvml
import pytest
from django.test import Client
from django.urls import reverse

from devtools.fake_ollama import FakeOllama
from evaluations import knee, prompting, selectors, services, vram
from evaluations.llm import Backend, ChatRequest, ChatResult
from evaluations.llm.ollama_backend import OllamaBackend
from evaluations.models import BackendProbe, Run
from evaluations.rubric_content import DEFAULT_CRITERIA, DEFAULT_INSTRUCTIONS
from tests.support.files import candidates_csv
from tests.support.processes import ROOT, evaluate, finish, query, subprocess_env
from tests.support.runs import start_run, upload

MODEL = "gemma3:12b"
GIB = 1024**3


# --- the knee rule and the estimate: pure functions ----------------------------------------


def _step(concurrency: int, req_per_s: float) -> knee.Step:
    return knee.Step(concurrency, 8, 0, 1.0, req_per_s, 100.0, 120.0, 10.0, 700.0, 10.0)


def test_the_knee_is_the_fewest_in_flight_within_ten_percent_of_the_best() -> None:
    flat_after_4 = [_step(1, 10), _step(2, 19.5), _step(4, 38), _step(8, 39)]
    assert knee.knee_of(flat_after_4) == (4, False)
    # Past the slots, a few percent more by hiding the client's gaps: still the slots.
    assert knee.knee_of([_step(1, 10), _step(2, 19), _step(4, 20.5), _step(8, 20.6)]) == (
        2,
        False,
    )
    # A GPU's gains fade slowly: the knee is where they come within 10% of the best.
    gpu = [_step(1, 1), _step(2, 1.9), _step(4, 3.3), _step(8, 5.0), _step(16, 6.5)]
    gpu += [_step(32, 7.2), _step(64, 7.4)]
    assert knee.knee_of(gpu) == (32, False)
    # Still rising at the last step: the knee may be higher, and the report says so.
    assert knee.knee_of([_step(1, 10), _step(2, 20)]) == (2, True)
    assert knee.knee_of([_step(1, 10), _step(2, 10.51)]) == (1, True)
    assert knee.knee_of([_step(1, 10)]) == (1, True)


def test_steps_double_up_to_the_maximum_itself() -> None:
    assert knee.concurrency_steps(64) == [1, 2, 4, 8, 16, 32, 64]
    assert knee.concurrency_steps(10) == [1, 2, 4, 8, 10]
    assert knee.concurrency_steps(1) == [1]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert knee.percentile(values, 0.95) == 95.0
    assert knee.percentile(values, 0.5) == 50.0
    assert knee.percentile([3.0], 0.95) == 3.0


# gemma3:12b as Ollama's /api/show reports it (grouped-query attention, 256-wide heads).
GEMMA3_12B = {
    "general.architecture": "gemma3",
    "gemma3.block_count": 48,
    "gemma3.attention.head_count": 16,
    "gemma3.attention.head_count_kv": 8,
    "gemma3.attention.key_length": 256,
    "gemma3.attention.value_length": 256,
    "gemma3.embedding_length": 3840,
}


def test_kv_cache_per_token_from_the_architecture() -> None:
    arch = vram.architecture_from(GEMMA3_12B)
    assert arch is not None
    # 48 layers × 8 KV heads × (256 + 256) values × 2 bytes.
    assert arch.kv_bytes_per_token == 48 * 8 * 512 * 2 == 393_216


def test_kv_cache_falls_back_to_embedding_over_heads_and_to_all_heads() -> None:
    # No head_count_kv, no key_length: every head keeps K and V of embedding/heads each.
    arch = vram.architecture_from(
        {
            "general.architecture": "llama",
            "llama.block_count": 30,
            "llama.attention.head_count": 9,
            "llama.embedding_length": 576,
        }
    )
    assert arch is not None and arch.kv_bytes_per_token == 30 * 9 * (64 + 64) * 2
    # Per-layer KV head counts (an array) are summed layer by layer.
    per_layer = vram.architecture_from(
        {**GEMMA3_12B, "gemma3.block_count": 3, "gemma3.attention.head_count_kv": [8, 0, 4]}
    )
    assert per_layer is not None and per_layer.kv_bytes_per_token == (8 + 0 + 4) * 512 * 2
    assert vram.architecture_from({"general.architecture": "x"}) is None
    assert vram.architecture_from({}) is None


def test_the_estimate_and_its_warning() -> None:
    arch = vram.architecture_from(GEMMA3_12B)
    assert arch is not None
    model = int(8.1 * GIB)
    # 4 slots × 8,192 tokens: 12 GiB of KV cache on top of an 8.1 GiB model.
    big = vram.vram_estimate(arch, model_bytes=model, num_ctx=8192, slots=4)
    assert big.kv_bytes == 393_216 * 8192 * 4 == 12 * GIB
    assert big.total_bytes == model + 12 * GIB + vram.COMPUTE_BUFFER_BYTES
    warning = vram.vram_warning(big, 16 * GIB)
    assert "4 requests at once" in warning and "8,192 tokens" in warning
    assert "16.0 GB the GPU has" in warning and "HRBATCH_MAX_NUM_CTX" in warning
    # 2 slots × 4,096 tokens: 3 GiB, fits a 16 GiB card.
    small = vram.vram_estimate(arch, model_bytes=model, num_ctx=4096, slots=2)
    assert vram.vram_warning(small, 16 * GIB) == ""


def test_no_gpu_here_is_said_in_words() -> None:
    devices, note = vram.gpu_devices()
    assert devices == [] and note.startswith(vram.NO_GPU)


@pytest.fixture
def gpu_16gb(monkeypatch: pytest.MonkeyPatch) -> None:
    """pynvml reporting one 16 GB card (the one thing mocked: no GPU on this machine)."""
    memory = SimpleNamespace(total=16 * GIB, used=1 * GIB, free=15 * GIB)
    monkeypatch.setattr(pynvml, "nvmlInit", lambda: None)
    monkeypatch.setattr(pynvml, "nvmlShutdown", lambda: None)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetCount", lambda: 1)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetHandleByIndex", lambda index: ("gpu", index))
    monkeypatch.setattr(pynvml, "nvmlDeviceGetMemoryInfo", lambda handle: memory)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetName", lambda handle: "NVIDIA GeForce RTX 4080")


def test_gpu_memory_is_read_through_pynvml(gpu_16gb: None) -> None:
    devices, note = vram.gpu_devices()
    assert note == ""
    assert devices == [vram.GpuDevice(0, "NVIDIA GeForce RTX 4080", 16 * GIB, GIB, 15 * GIB)]


# --- measuring against the fake over real HTTP -------------------------------------------


def _requests(num_ctx: int = 4096) -> list[Any]:
    plan = prompting.plan_for(
        instructions=DEFAULT_INSTRUCTIONS, criteria=DEFAULT_CRITERIA, rationale=False
    )
    from devtools.synthetic import generate_candidates

    return [
        knee.probe_request(
            plan,
            {"cover_note": c["cover_note"]},
            model=MODEL,
            num_ctx=num_ctx,
            seed=42,
            keep_alive="5m",
        )
        for c in generate_candidates(16, seed=1)
    ]


@pytest.mark.parametrize("slots", [2, 4])
def test_the_knee_found_against_the_fake_is_its_slot_count(slots: int) -> None:
    # 250 ms per answer: the client's own gap between an answer and its next request
    # (~5-15 ms on a busy 2-core machine) stays well inside the 10% plateau.
    with FakeOllama(slots=slots, latency=0.25) as fake:
        backend = OllamaBackend([fake.url])

        async def go() -> knee.Measurement:
            try:
                return await knee.measure(
                    backend, _requests(), max_concurrency=16, requests_per_step=12
                )
            finally:
                await backend.aclose()

        measurement = asyncio.run(go())
        assert fake.max_in_flight == slots
    table = "\n".join(knee.format_table(measurement.steps))
    assert measurement.knee == slots and not measurement.reached_max, table
    by_concurrency = {s.concurrency: s for s in measurement.steps}
    # It went past the knee until the gain vanished, and stopped there.
    assert 2 * slots in by_concurrency
    assert all(s.errors == 0 and s.output_tokens > 0 for s in measurement.steps)
    # Past the slots, requests wait in the server's queue: the latency doubles.
    assert by_concurrency[2 * slots].p50_ms > 1.5 * by_concurrency[slots].p50_ms


class _DipsAtTwo(Backend):
    """A server whose answers take longer with 2 in flight than with 1 and 4 (a CPU-bound
    prompt on a shared machine, as llama-server on two cores measured): 10 requests/s at 1,
    8 at 2, 33 at 4 and at 8 (its 4 slots full)."""

    name = "dips"
    # Seconds per answer by the slots busy when it starts; past 4, requests wait for a slot.
    SECONDS = {1: 0.1, 2: 0.25, 3: 0.12, 4: 0.12}

    def __init__(self) -> None:
        self.busy = 0
        self.slots = asyncio.Semaphore(4)

    async def chat(self, request: ChatRequest) -> ChatResult:
        async with self.slots:
            self.busy += 1
            try:
                await asyncio.sleep(self.SECONDS[self.busy])
            finally:
                self.busy -= 1
        return ChatResult(content="[7,7,7,7,7]", prompt_tokens=700, completion_tokens=12)

    async def list_models(self) -> list[Any]:
        return []

    async def model_info(self, model: str) -> Any:
        raise NotImplementedError


@pytest.mark.parametrize(("at_least", "knee_found"), [(1, 1), (4, 4)])
def test_the_probe_measures_up_to_the_slots_the_server_reports(
    at_least: int, knee_found: int
) -> None:
    """Without the server's slot count, a step that gains nothing stops the probe; with it
    (llama-server's /props), the steps up to the slots are measured before the rule."""

    async def go() -> knee.Measurement:
        return await knee.measure(
            _DipsAtTwo(), _requests(), max_concurrency=8, requests_per_step=16, at_least=at_least
        )

    measurement = asyncio.run(go())
    table = "\n".join(knee.format_table(measurement.steps))
    assert measurement.knee == knee_found, table
    measured = {s.concurrency for s in measurement.steps}
    assert (4 in measured) == (at_least == 4), table


def test_the_request_shape_is_the_engines(fake_ollama: FakeOllama) -> None:
    request = _requests(num_ctx=3072)[0]
    keyed = prompting.plan_for(
        instructions=DEFAULT_INSTRUCTIONS, criteria=DEFAULT_CRITERIA, rationale=False
    ).num_predict(1)
    assert request.options == {
        "temperature": 0.0,
        "seed": 42,
        "num_ctx": 3072,
        "num_predict": keyed,
    }
    assert request.format["required"] == [c["key"] for c in DEFAULT_CRITERIA]
    assert request.messages[0]["role"] == "system"
    assert request.messages[1]["content"].startswith("<candidate>\n")


# --- the command as a person runs it, and a run afterwards --------------------------------


def _probe_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "probe_backend", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.slow
def test_probe_backend_stores_the_knee_and_an_auto_run_keeps_that_many_in_flight(
    tmp_path: Path,
) -> None:
    with FakeOllama(slots=2, latency=0.25) as fake:
        env = subprocess_env(
            tmp_path,
            fake,
            HRBATCH_MODEL=MODEL,
            HRBATCH_CONCURRENCY="auto",
            HRBATCH_WORKERS="1",
        )
        env.pop("HRBATCH_LLM_BACKEND")  # auto finds the Ollama at OLLAMA_HOST
        done = _probe_command(env, "--max-concurrency", "8", "--requests-per-step", "12")
        assert done.returncode == 0, done.stderr
        out = done.stdout
        assert "Knee: 2 requests in flight" in out, out
        assert "no NVIDIA GPU visible" in out
        assert "parallel slots: cannot be told" in out
        assert "Model in VRAM: " in out and "Stored." in out
        columns = 'backend, model, "where", concurrency, "table"'
        rows = query(env, f"SELECT {columns} FROM evaluations_backendprobe")
        assert len(rows) == 1
        backend, model, where, concurrency, table = rows[0]
        assert (backend, model, where, concurrency) == ("ollama", MODEL, fake.url, 2)
        table = json.loads(table) if isinstance(table, str) else table
        assert [s["concurrency"] for s in table][:3] == [1, 2, 4]

        # The server now has 8 slots, but the run keeps the measured 2 in flight.
        fake.slots = 8
        fake.reset()
        source = candidates_csv(tmp_path, 30)
        finish(evaluate(source, tmp_path / "out.csv", env))
        assert fake.max_in_flight == 2
        (options,) = query(env, "SELECT options FROM evaluations_run")[0]
        options = json.loads(options) if isinstance(options, str) else options
        assert options["concurrency"] == 2
        assert options["concurrency_source"].startswith("measured by probe_backend on ")

        # A number in HRBATCH_CONCURRENCY still wins over the measurement.
        fake.reset()
        env["HRBATCH_CONCURRENCY"] = "6"
        finish(evaluate(source, tmp_path / "out6.csv", env, "--fresh"))
        assert fake.max_in_flight == 6


def test_the_json_output_for_scripts(tmp_path: Path) -> None:
    with FakeOllama(slots=2, latency=0.25) as fake:
        env = subprocess_env(tmp_path, fake, HRBATCH_MODEL=MODEL)
        done = _probe_command(
            env, "--json", "--no-store", "--max-concurrency", "4", "--requests-per-step", "12"
        )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["knee"] == 2 and data["stored_id"] is None
    assert data["backend"] == "ollama" and data["model"] == MODEL
    assert data["gpu_note"].startswith("no NVIDIA GPU visible")
    assert data["server"]["model_vram"] > 0
    assert query(env, "SELECT count(*) FROM evaluations_backendprobe") == [(0,)]


# --- the decision in one place, and the pages that show it --------------------------------


@pytest.mark.django_db
def test_concurrency_auto_uses_the_newest_probe_of_that_backend_model_and_place(
    settings: Any,
) -> None:
    settings.HRBATCH = {**settings.HRBATCH, "CONCURRENCY": "auto"}
    choice = selectors.concurrency_for(backend="ollama", model=MODEL, where="http://a:11434")
    assert (choice.value, choice.origin) == (selectors.DEFAULT_CONCURRENCY, "default")
    assert "run `manage.py probe_backend` to measure" in choice.source
    for measured in (3, 5):
        BackendProbe.objects.create(
            backend="ollama", where="http://a:11434", model=MODEL, concurrency=measured
        )
    BackendProbe.objects.create(
        backend="ollama", where="http://b:11434", model=MODEL, concurrency=9
    )
    BackendProbe.objects.create(backend="embedded", where="", model=MODEL, concurrency=1)
    choice = selectors.concurrency_for(backend="ollama", model=MODEL, where="http://a:11434")
    assert (choice.value, choice.origin) == (5, "measured")
    assert choice.source.startswith("measured by probe_backend on ")
    assert (
        selectors.concurrency_for(backend="ollama", model="other", where="http://a:11434").origin
        == "default"
    )
    settings.HRBATCH = {**settings.HRBATCH, "CONCURRENCY": 12}
    choice = selectors.concurrency_for(backend="ollama", model=MODEL, where="http://a:11434")
    assert (choice.value, choice.source) == (12, "set by HRBATCH_CONCURRENCY")


@pytest.fixture
def auto_settings(engine_settings: Any) -> Any:
    engine_settings.HRBATCH = {**engine_settings.HRBATCH, "CONCURRENCY": "auto"}
    return engine_settings


@pytest.mark.django_db(transaction=True)
def test_the_run_page_says_which_concurrency_and_where_it_came_from(
    auto_settings: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path
) -> None:
    client = Client()
    client.force_login(owner)
    run = start_run(candidates_csv(tmp_path, 5), owner)
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()
    assert "8 requests in flight per worker (default, run" in page

    BackendProbe.objects.create(backend="ollama", where=fake_ollama.url, model=MODEL, concurrency=3)
    run = start_run(candidates_csv(tmp_path, 5, seed=2, name="b.csv"), owner)
    assert run.opts.concurrency == 3
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()
    assert "3 requests in flight per worker (measured by probe_backend on " in page


@pytest.mark.django_db(transaction=True)
def test_the_pages_warn_before_a_run_when_the_context_would_not_fit_the_gpu(
    auto_settings: Any, fake_ollama: FakeOllama, owner: Any, tmp_path: Path, gpu_16gb: None
) -> None:
    client = Client()
    client.force_login(owner)
    file = upload(candidates_csv(tmp_path, 5), owner)
    # The fake's gemma3:12b: 48 layers × 16 KV heads × 480 values × 2 bytes per token, so
    # 8 requests × HRBATCH_MAX_NUM_CTX (8,192) tokens need ~45 GB beside the model.
    page = client.get(reverse("web:prepare", args=[file.id])).content.decode()
    assert 'id="vram-warning"' in page and "16.0 GB the GPU has" in page
    assert "8 requests at once with a context of 8,192 tokens" in page

    # A run that has not started yet (its file still being read): its page says so too.
    run = Run.objects.create(
        owner=owner,
        input_file=file,
        rubric=services.rubric_default(),
        model=MODEL,
        backend="ollama",
        status=Run.Status.VALIDATING,
    )
    page = client.get(reverse("web:run", args=[run.public_id])).content.decode()
    assert 'id="vram-warning"' in page and "8,192 tokens" in page

    # Two requests of 2,048 tokens fit the card: no warning.
    auto_settings.HRBATCH = {**auto_settings.HRBATCH, "CONCURRENCY": 2, "MAX_NUM_CTX": 2048}
    page = client.get(reverse("web:prepare", args=[file.id])).content.decode()
    assert 'id="vram-warning"' not in page


@pytest.mark.django_db
def test_the_admin_lists_probes_read_only() -> None:
    from django.contrib.auth import get_user_model

    director = get_user_model().objects.create_superuser("diana", password="director-pass-123")
    client = Client()
    client.force_login(director)
    probe_row = BackendProbe.objects.create(
        backend="ollama",
        where="http://gpu1:11434",
        model=MODEL,
        concurrency=6,
        table=[{"concurrency": 1, "req_per_s": 1.5}],
    )
    listing = client.get(reverse("admin:evaluations_backendprobe_changelist"))
    assert listing.status_code == 200 and "http://gpu1:11434" in listing.content.decode()
    page = client.get(reverse("admin:evaluations_backendprobe_change", args=[probe_row.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "req_per_s" in html and 'name="concurrency"' not in html  # shown, not editable
    assert client.get(reverse("admin:evaluations_backendprobe_add")).status_code == 403
    changed = client.post(
        reverse("admin:evaluations_backendprobe_change", args=[probe_row.pk]), {"concurrency": 99}
    )
    assert changed.status_code == 403
    probe_row.refresh_from_db()
    assert probe_row.concurrency == 6
