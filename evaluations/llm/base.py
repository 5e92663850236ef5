"""The one interface every LLM backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class BackendError(Exception):
    """A failure talking to the model, with a message a person can act on."""

    #: Worth trying the same request again later.
    transient = False
    #: The whole run cannot go on until a person acts (start the server, pull a model).
    blocks_run = False


class Unreachable(BackendError):
    transient = True
    blocks_run = True
    #: The machine that did not answer (one of several OLLAMA_HOST entries).
    host = ""


class ModelNotFound(BackendError):
    blocks_run = True


class NotAllowed(BackendError):
    """The server refused hrbatch's credentials: only a person can fix the key."""

    blocks_run = True


class RequestFailed(BackendError):
    """The server answered with an error for this request (5xx, timeout): retry it."""

    transient = True


class BadRequest(BackendError):
    """The server refused the request itself (4xx): retrying will not help."""


@dataclass
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    # A JSON schema, "json", or None for free text.
    format: dict[str, Any] | str | None = None
    # Ollama option names: temperature, seed, num_ctx, num_predict, top_p, stop, …
    options: dict[str, Any] = field(default_factory=dict)
    keep_alive: str | None = None
    # The same answer as a llama.cpp GBNF grammar with no room for whitespace
    # (evaluations.answer_grammar), for servers that take one; the others use `format`.
    grammar: str | None = None
    # Tokens a server that takes only the schema may let the model spend on whitespace:
    # added to num_predict there (never where the grammar is used).
    whitespace_room: int = 0

    def schema_options(self) -> dict[str, Any]:
        """`options` for a server that constrains the answer by the schema alone: room
        for the whitespace its grammar lets the model write, added to num_predict."""
        if not self.whitespace_room or self.options.get("num_predict") is None:
            return self.options
        cap = int(self.options["num_predict"]) + self.whitespace_room
        return {**self.options, "num_predict": cap}


@dataclass
class ChatResult:
    content: str
    prompt_tokens: int
    completion_tokens: int
    done_reason: str = "stop"
    # Prompt tokens the server did not evaluate because its cache held them, when the
    # backend can say exactly; otherwise None and reuse is measured from durations.
    cached_tokens: int | None = None
    prompt_eval_ns: int | None = None
    eval_ns: int | None = None
    latency_ms: int = 0
    model: str = ""


@dataclass
class ModelInfo:
    name: str
    digest: str = ""
    context_length: int | None = None
    size: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # When the model last changed on the server (Ollama's modified_at), if it says.
    modified_at: datetime | None = None


@dataclass
class LoadedModel:
    """A model the server holds in memory (Ollama's /api/ps), for probe_backend."""

    name: str
    size: int | None = None
    size_vram: int | None = None
    # The context the server allocated for it: Ollama allocates num_ctx × its parallel
    # slots (OLLAMA_NUM_PARALLEL), when its /api/ps reports that total.
    context_length: int | None = None


@dataclass
class ServerSlots:
    """One server's parallel slots as it reports them (llama.cpp's `llama-server`: /props
    `total_slots`, /slots), for probe_backend."""

    where: str
    total: int
    # Slots processing a request when asked, and the tokens each slot holds, if it says.
    busy: int | None = None
    ctx: int | None = None


class Backend(ABC):
    name: str = ""

    @abstractmethod
    async def chat(self, request: ChatRequest) -> ChatResult: ...

    @abstractmethod
    async def list_models(self) -> list[ModelInfo]: ...

    @abstractmethod
    async def model_info(self, model: str) -> ModelInfo:
        """Raise ModelNotFound or Unreachable with an actionable message."""

    @property
    def default_model(self) -> str:
        return ""

    @property
    def is_demo(self) -> bool:
        """Scores from this backend are for trying the app, not for hiring decisions."""
        return False

    @property
    def where(self) -> str:
        """Where the model runs (hosts, base URLs), as stored with a probe's knee."""
        return ""

    async def loaded_models(self) -> list[LoadedModel]:
        """The models the server holds in memory, when it can say (Ollama's /api/ps)."""
        return []

    async def server_slots(self) -> list[ServerSlots]:
        """The parallel slots of each server that reports them (llama.cpp's /props and
        /slots); [] when none does (Ollama sets OLLAMA_NUM_PARALLEL and does not say)."""
        return []

    async def architecture(self, model: str) -> dict[str, Any]:
        """The model's architecture figures (Ollama's /api/show model_info: block_count,
        attention head counts, …), when the server can say; {} otherwise."""
        return {}

    async def aclose(self) -> None:
        return None
