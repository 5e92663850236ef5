"""Will the model and its context fit the GPU? An estimate, and the GPU's memory (pynvml).

The seed's prototype ran out of VRAM by asking for a large num_ctx with many parallel
slots: Ollama allocates num_ctx × OLLAMA_NUM_PARALLEL tokens of KV cache beside the
weights. The estimate here is a pure function of the model's architecture (Ollama's
/api/show model_info) so it can be checked by hand and tested; reading the GPU is the
only part that needs a driver.

Assumptions of the estimate (said again with every warning):

* The KV cache is f16 (2 bytes per value), Ollama's default (OLLAMA_KV_CACHE_TYPE unset).
  A q8_0 cache halves it, q4_0 quarters it: the estimate is then high.
* Every layer keeps the whole context. Models with sliding-window layers (gemma3 keeps
  1,024 tokens in 5 of every 6 layers) need less: the estimate is an upper bound for them.
* Per token and layer the cache holds head_count_kv × (key_length + value_length) values;
  without key_length / value_length, embedding_length / head_count each; without
  head_count_kv, head_count (no grouped-query attention).
* The weights take what the server reports (/api/ps size_vram once loaded, else the
  model's file size), plus COMPUTE_BUFFER_BYTES for llama.cpp's compute graph (about
  what Ollama's logs show for 8-14B models at these contexts).
* The GPU's total memory counts, summed over every NVIDIA GPU (Ollama splits a model
  across GPUs); other programs' use of it is not subtracted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

F16_BYTES = 2
COMPUTE_BUFFER_BYTES = 512 * 1024**2
GIB = 1024**3

NO_GPU = "no NVIDIA GPU visible"


@dataclass(frozen=True)
class Architecture:
    layers: int
    # Per layer (Ollama reports an array for models whose layers differ).
    kv_heads: tuple[int, ...]
    key_length: int
    value_length: int

    @property
    def kv_bytes_per_token(self) -> int:
        """Bytes of f16 KV cache one token of context takes, over all layers."""
        return sum(heads * (self.key_length + self.value_length) for heads in self.kv_heads) * (
            F16_BYTES
        )


def architecture_from(model_info: Mapping[str, Any]) -> Architecture | None:
    """The KV-cache figures from Ollama's /api/show model_info, or None when it lacks them."""
    arch = model_info.get("general.architecture")
    if not arch:
        return None

    def number(key: str) -> Any:
        return model_info.get(f"{arch}.{key}")

    layers = number("block_count")
    heads = number("attention.head_count")
    if not layers:
        return None
    layers = int(layers)
    kv = number("attention.head_count_kv") or heads
    if isinstance(kv, Sequence) and not isinstance(kv, str):
        kv_heads = tuple(int(h) for h in kv)[:layers]
    elif kv:
        kv_heads = (int(kv),) * layers
    else:
        return None
    per_head = None
    if number("embedding_length") and heads:
        first = heads[0] if isinstance(heads, Sequence) else heads
        per_head = int(number("embedding_length")) // int(first) if int(first) else None
    key = number("attention.key_length") or per_head
    value = number("attention.value_length") or key
    if not key or not value:
        return None
    return Architecture(
        layers=layers, kv_heads=kv_heads, key_length=int(key), value_length=int(value)
    )


@dataclass(frozen=True)
class VramEstimate:
    num_ctx: int
    slots: int
    model_bytes: int
    kv_bytes: int
    overhead_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.model_bytes + self.kv_bytes + self.overhead_bytes


def vram_estimate(
    arch: Architecture, *, model_bytes: int, num_ctx: int, slots: int
) -> VramEstimate:
    """GPU memory for the weights plus num_ctx × slots tokens of f16 KV cache (see the
    module's assumptions)."""
    return VramEstimate(
        num_ctx=num_ctx,
        slots=slots,
        model_bytes=model_bytes,
        kv_bytes=arch.kv_bytes_per_token * num_ctx * slots,
        overhead_bytes=COMPUTE_BUFFER_BYTES,
    )


def gib(value: int) -> str:
    return f"{value / GIB:.1f} GB"


def vram_warning(estimate: VramEstimate, gpu_total: int) -> str:
    """What to tell the person when the estimate does not fit `gpu_total` bytes ("" if it
    fits)."""
    if estimate.total_bytes <= gpu_total:
        return ""
    return (
        f"The model may not fit the GPU: {estimate.slots} requests at once with a context of "
        f"{estimate.num_ctx:,} tokens each need about {gib(estimate.total_bytes)} "
        f"(model {gib(estimate.model_bytes)}, context memory {gib(estimate.kv_bytes)}), "
        f"more than the {gib(gpu_total)} the GPU has. The server would move part of the "
        "model to the CPU (many times slower) or fail. Lower the requests in flight "
        "(OLLAMA_NUM_PARALLEL on the server and HRBATCH_CONCURRENCY) or the context "
        "(HRBATCH_MAX_NUM_CTX). The estimate assumes an f16 context cache and that every "
        "layer keeps the whole context, so it errs on the high side."
    )


@dataclass(frozen=True)
class GpuDevice:
    index: int
    name: str
    total: int
    used: int
    free: int


def gpu_devices() -> tuple[list[GpuDevice], str]:
    """The NVIDIA GPUs pynvml sees, and "" — or [] and why none ("no NVIDIA GPU visible")."""
    try:
        import pynvml
    except ImportError:
        return [], f"{NO_GPU} (nvidia-ml-py is not installed)"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return [], f"{NO_GPU} ({exc})"
    try:
        devices = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            name = pynvml.nvmlDeviceGetName(handle)
            devices.append(
                GpuDevice(
                    index=index,
                    name=name.decode() if isinstance(name, bytes) else str(name),
                    total=int(memory.total),
                    used=int(memory.used),
                    free=int(memory.free),
                )
            )
    except pynvml.NVMLError as exc:
        return [], f"{NO_GPU} ({exc})"
    finally:
        with contextlib.suppress(pynvml.NVMLError):
            pynvml.nvmlShutdown()
    return devices, "" if devices else NO_GPU


def devices_json(devices: list[GpuDevice]) -> list[dict[str, Any]]:
    return [asdict(d) for d in devices]
