"""LLM backends behind one interface: `ollama`, `openai` (any OpenAI-compatible server),
`embedded`, and `auto` choosing between Ollama and the embedded model."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from django.conf import settings

from .base import (
    Backend,
    BackendError,
    BadRequest,
    ChatRequest,
    ChatResult,
    LoadedModel,
    ModelInfo,
    ModelNotFound,
    NotAllowed,
    RequestFailed,
    ServerSlots,
    Unreachable,
)

__all__ = [
    "Backend",
    "BackendChoice",
    "BackendError",
    "BadRequest",
    "ChatRequest",
    "ChatResult",
    "LoadedModel",
    "ModelInfo",
    "ModelNotFound",
    "NotAllowed",
    "RequestFailed",
    "ServerSlots",
    "Unreachable",
    "backend_notice",
    "call_once",
    "make_backend",
    "model_list",
    "resolve_backend",
    "served_model",
    "without_server_addresses",
]

T = TypeVar("T")

BACKENDS = ("ollama", "openai", "embedded")
# What Ollama runs when HRBATCH_MODEL is not set.
OLLAMA_DEFAULT_MODEL = "gemma3:12b"
DEMO_NOTICE = "The embedded demo model's scores are for trying the app, not for hiring decisions."


def normalize_host(host: str) -> str:
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = "http://" + host
    scheme, rest = host.split("://", 1)
    hostport = rest.split("/", 1)[0]
    if ":" not in hostport.rsplit("]", 1)[-1]:
        host = f"{scheme}://{hostport}:11434" + rest[len(hostport) :]
    return host


def ollama_hosts() -> list[str]:
    return [normalize_host(h) for h in settings.HRBATCH["OLLAMA_HOSTS"]]


# What API clients read instead of an LLM server's address.
SERVER_WORDS = "the model server"
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>,;()]*[^\s'\"<>,;().:]", re.IGNORECASE)
_REPEATED = re.compile(rf"{SERVER_WORDS}(?:(?:,| and) {SERVER_WORDS})+")


def without_server_addresses(text: str) -> str:
    """`text` with the LLM servers' addresses replaced by "the model server".

    For /v1 clients: where hrbatch's model servers run is internal (OWASP ASVS 7.4.1,
    errors reveal no infrastructure). The full message stays in the server log and on the
    staff pages. Every URL goes, and so does each configured server's host name and
    host:port wherever it stands alone (an error may name it without its scheme).
    """
    if not text:
        return text
    text = _URL.sub(SERVER_WORDS, text)
    names: set[str] = set()
    for url in [*ollama_hosts(), *settings.HRBATCH["OPENAI_BASE_URLS"]]:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        names.update(n for n in (parts.netloc, parts.hostname) if n)
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", SERVER_WORDS, text)
    return _REPEATED.sub(f"{SERVER_WORDS}s", text)


def make_backend(name: str) -> Backend:
    """A fresh backend object for one event loop (one worker task or one request)."""
    conf = settings.HRBATCH
    if name == "ollama":
        from .ollama_backend import OllamaBackend

        return OllamaBackend(
            ollama_hosts(),
            default_model=conf["MODEL"] or OLLAMA_DEFAULT_MODEL,
            timeout=conf["REQUEST_TIMEOUT_SECONDS"],
        )
    if name == "openai":
        from .openai_backend import OpenAIBackend

        return OpenAIBackend(
            conf["OPENAI_BASE_URLS"],
            api_key=conf["OPENAI_API_KEY"],
            default_model=conf["MODEL"],
            timeout=conf["REQUEST_TIMEOUT_SECONDS"],
        )
    if name == "embedded":
        from .embedded import EmbeddedBackend

        return EmbeddedBackend(
            conf["EMBEDDED_MODEL_PATH"] or None, threads=conf["EMBEDDED_THREADS"]
        )
    raise ValueError(f"unknown LLM backend {name!r}; use auto, ollama, openai or embedded")


def call_once(backend: Backend, call: Callable[[Backend], Awaitable[T]]) -> T:
    """Run one call on `backend` in a fresh event loop, then close it (outside the engine,
    whose worker keeps one backend per event-loop thread)."""

    async def once() -> T:
        try:
            return await call(backend)
        finally:
            await backend.aclose()

    return asyncio.run(once())


def served_model(backend: Backend, requested: str) -> str:
    """The model `backend` runs for a request that asked for `requested`: the embedded
    backend runs only its own (an `auto` that fell back); others the one asked for, or
    their default when none was ("" for an OpenAI-compatible server with no HRBATCH_MODEL:
    its model_info names the one model it serves)."""
    if backend.name == "embedded" or not requested:
        return backend.default_model
    return requested


@dataclass(frozen=True)
class BackendChoice:
    name: str
    # Said to the person when `auto` fell back, e.g. "Ollama is not reachable at …".
    notice: str = ""


def resolve_backend(requested: str | None = None) -> BackendChoice:
    """Turn `auto` into a concrete backend: Ollama if reachable, else the embedded model."""
    requested = (requested or settings.HRBATCH["LLM_BACKEND"] or "auto").lower()
    if requested in BACKENDS:
        return BackendChoice(requested)
    if requested != "auto":
        raise ValueError(f"unknown LLM backend {requested!r}; use auto, ollama, openai or embedded")
    from .ollama_backend import is_reachable

    hosts = ollama_hosts()

    async def probe() -> bool:
        results = await asyncio.gather(*(is_reachable(h) for h in hosts))
        return any(results)

    if asyncio.run(probe()):
        return BackendChoice("ollama")
    return BackendChoice(
        "embedded",
        notice=(
            f"Ollama is not reachable at {', '.join(hosts)}, so hrbatch is using its embedded "
            "demo model (SmolLM2-135M). Its scores are for trying the app, not for hiring "
            "decisions; start Ollama for real scoring."
        ),
    )


def backend_notice(choice: BackendChoice, backend: Backend) -> str:
    """What a run scored by `backend` tells the person with its results ("" for nothing):
    that `auto` fell back to the embedded model, or that a demo model's scores are not
    for hiring decisions."""
    return choice.notice or (DEMO_NOTICE if backend.is_demo else "")


def available_models(choice: BackendChoice) -> list[str]:
    """Model names the backend reports (`ollama list`), for people to choose from."""
    return [m.name for m in model_list(choice)]


def model_list(choice: BackendChoice) -> list[ModelInfo]:
    """The models the backend reports (`ollama list`); none when it cannot be asked."""
    backend = make_backend(choice.name)
    try:
        return call_once(backend, lambda b: b.list_models())
    except BackendError:
        return []
