"""Ollama through its native /api/chat (ollama.AsyncClient), over one or more hosts.

The native API rather than Ollama's OpenAI endpoint: the latter forces temperature 1
when omitted and cannot set num_ctx (DESIGN.md).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import ollama

from .base import (
    Backend,
    BadRequest,
    ChatRequest,
    ChatResult,
    LoadedModel,
    ModelInfo,
    ModelNotFound,
    RequestFailed,
    Unreachable,
)
from .hosts import HostPool


class OllamaBackend(Backend):
    name = "ollama"

    def __init__(self, hosts: list[str], *, default_model: str = "", timeout: float = 600.0):
        if not hosts:
            raise ValueError("at least one Ollama host")
        self.hosts = hosts
        self._default_model = default_model
        self._timeout = timeout
        self._clients: dict[str, ollama.AsyncClient] = {}
        self._pool = HostPool(hosts)

    @property
    def default_model(self) -> str:
        return self._default_model

    def _client(self, host: str) -> ollama.AsyncClient:
        # Clients bind to the event loop they were first used in; one backend object
        # lives inside one loop (one worker task).
        if host not in self._clients:
            self._clients[host] = ollama.AsyncClient(
                host=host,
                timeout=httpx.Timeout(self._timeout, connect=5.0),
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
            )
        return self._clients[host]

    async def chat(self, request: ChatRequest) -> ChatResult:
        return await self._pool.call(
            lambda host: self._chat_on(host, request), none_answered=_none_answered
        )

    async def _chat_on(self, host: str, request: ChatRequest) -> ChatResult:
        started = time.monotonic()
        try:
            response = await self._client(host).chat(
                model=request.model,
                messages=request.messages,
                format=request.format,
                # Ollama takes a schema, never a grammar: its converter (llama.cpp's) lets
                # whitespace stand between items, which the token cap makes room for.
                options=request.schema_options()
                if isinstance(request.format, dict)
                else request.options,
                keep_alive=request.keep_alive,
                stream=False,
            )
        except Exception as exc:
            raise self._translate(exc, host, request.model) from exc
        prompt_tokens = response.prompt_eval_count or 0
        return ChatResult(
            content=response.message.content or "",
            prompt_tokens=prompt_tokens,
            completion_tokens=response.eval_count or 0,
            done_reason=response.done_reason or "stop",
            prompt_eval_ns=response.prompt_eval_duration,
            eval_ns=response.eval_duration,
            latency_ms=int((time.monotonic() - started) * 1000),
            model=response.model or request.model,
        )

    async def list_models(self) -> list[ModelInfo]:
        seen: dict[str, ModelInfo] = {}
        errors: list[Exception] = []
        for host in self.hosts:
            try:
                listing = await self._client(host).list()
            except Exception as exc:
                errors.append(self._translate(exc, host, ""))
                continue
            for m in listing.models:
                name = m.model or ""
                if name and name not in seen:
                    seen[name] = ModelInfo(
                        name=name,
                        digest=m.digest or "",
                        size=int(m.size) if m.size is not None else None,
                        details=m.details.model_dump() if m.details else {},
                        modified_at=m.modified_at,
                    )
        if errors and not seen:
            raise errors[0]
        return sorted(seen.values(), key=lambda m: m.name)

    async def model_info(self, model: str) -> ModelInfo:
        """Check the model on every host that answers: a run needs it wherever requests
        may go. A host that is down is no reason not to start (requests go to the others,
        and to it once it is back); only when none answers is the server unreachable."""
        infos = await asyncio.gather(
            *(self._model_info_on(host, model) for host in self.hosts), return_exceptions=True
        )
        answered = [result for result in infos if not isinstance(result, Unreachable)]
        for result in answered:
            if isinstance(result, BaseException):
                raise result
        if not answered:
            if len(self.hosts) > 1:
                raise _none_answered(self.hosts) from infos[0]  # type: ignore[misc]
            raise infos[0]  # type: ignore[misc]
        return answered[0]  # type: ignore[return-value]

    async def _model_info_on(self, host: str, model: str) -> ModelInfo:
        client = self._client(host)
        try:
            shown = await client.show(model)
            listing = await client.list()
        except Exception as exc:
            raise self._translate(exc, host, model) from exc
        digest = next((m.digest or "" for m in listing.models if m.model == model), "")
        info: dict[str, Any] = dict(shown.modelinfo or {})
        context = next(
            (int(v) for k, v in info.items() if k.endswith(".context_length") and v), None
        )
        return ModelInfo(
            name=model,
            digest=digest,
            context_length=context,
            details=shown.details.model_dump() if shown.details else {},
        )

    @property
    def where(self) -> str:
        return ",".join(self.hosts)

    async def loaded_models(self) -> list[LoadedModel]:
        """/api/ps on every host: the models loaded, their VRAM and allocated context."""
        found: list[LoadedModel] = []
        for host in self.hosts:
            try:
                listing = await self._client(host).ps()
            except Exception as exc:
                raise self._translate(exc, host, "") from exc
            for m in listing.models:
                found.append(
                    LoadedModel(
                        name=m.model or "",
                        size=int(m.size) if m.size is not None else None,
                        size_vram=int(m.size_vram) if m.size_vram is not None else None,
                        context_length=m.context_length or None,
                    )
                )
        return found

    async def architecture(self, model: str) -> dict[str, Any]:
        """/api/show's model_info (the first host's: every host serves the same model)."""
        host = self.hosts[0]
        try:
            shown = await self._client(host).show(model)
        except Exception as exc:
            raise self._translate(exc, host, model) from exc
        return dict(shown.modelinfo or {})

    def _translate(self, exc: Exception, host: str, model: str) -> Exception:
        if isinstance(exc, ConnectionError | httpx.ConnectError | httpx.ConnectTimeout):
            error = Unreachable(
                f"Ollama is not reachable at {host}; start it with `ollama serve` "
                "(or set OLLAMA_HOST to where it runs)."
            )
            error.host = host
            return error
        if isinstance(exc, ollama.ResponseError):
            if exc.status_code == 404 and "not found" in str(exc.error):
                return ModelNotFound(
                    f"model {model} is not pulled on {host}; run `ollama pull {model}`."
                )
            if 400 <= exc.status_code < 500:
                return BadRequest(f"Ollama refused the request: {exc.error}")
            return RequestFailed(f"Ollama failed on this request: {exc.error}")
        if isinstance(exc, httpx.TimeoutException):
            return RequestFailed(f"Ollama at {host} did not answer in time ({exc!r}).")
        if isinstance(exc, httpx.HTTPError):
            return RequestFailed(f"HTTP error talking to Ollama at {host}: {exc!r}")
        return exc

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client._client.aclose()
        self._clients.clear()


def _none_answered(hosts: list[str]) -> Unreachable:
    return Unreachable(
        f"Ollama is not reachable at any of {', '.join(hosts)}; start it with `ollama serve` "
        "on those machines (or set OLLAMA_HOST to where it runs)."
    )


async def is_reachable(host: str, timeout: float = 2.0) -> bool:
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(host.rstrip("/") + "/api/version")
            return response.status_code == 200
    except httpx.HTTPError:
        return False
