"""Any OpenAI-compatible server (vLLM, SGLang, llama.cpp's server, LM Studio, TGI) through
/v1/chat/completions and /v1/models, over one or more base URLs.

The way past Ollama for a team that outgrows one GPU: vLLM's continuous batching and
multi-GPU serving. Requests go through the official `openai` SDK with its own retries off
(the engine retries, with its budgets), temperature and seed as the run says, `max_tokens`
from the answer budget.

Servers differ in how they take a JSON schema for structured output:
- `json_schema` (OpenAI's own; vLLM, SGLang, llama.cpp's `llama-server`, LM Studio):
  `response_format: {"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`;
- `json_object` (llama-cpp-python's server, which refuses `json_schema`):
  `response_format: {"type": "json_object", "schema": …}`.
Each server is asked in OpenAI's form first; one that refuses it gets the other from then on
(`dialect()` says which a server got; the run records it).

llama.cpp's own server (`llama-server`, told by its /props) gets no schema for a rubric's
answer but its exact grammar (`grammar`, GBNF, evaluations.answer_grammar): its JSON-schema
converter lets whitespace run between items, and a small model can fill the token cap with
it. A server that takes only the schema gets room for that whitespace in `max_tokens`
(ChatRequest.schema_options); llama-cpp-python's converter allows one space, as the cap
already does.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import openai

from .base import (
    Backend,
    BadRequest,
    ChatRequest,
    ChatResult,
    ModelInfo,
    ModelNotFound,
    NotAllowed,
    RequestFailed,
    ServerSlots,
    Unreachable,
)
from .hosts import HostPool

JSON_SCHEMA = "json_schema"
JSON_OBJECT = "json_object"
# llama.cpp's llama-server: the answer's GBNF grammar when the request has one, else
# OpenAI's json_schema (it takes both, never together).
GBNF = "gbnf"
# What each server (base URL) takes, learnt in this process: every worker asks once.
_dialects: dict[str, str] = {}
# The servers whose /props this process has asked (once each: a server without it, such as
# vLLM, is not asked again for every request).
_props_asked: set[str] = set()

# Ollama option names (ChatRequest.options) → chat.completions parameters. num_ctx has no
# equivalent: an OpenAI-compatible server fixes its context when it starts.
_OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "stop": "stop",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    "num_predict": "max_tokens",
}
# Sampling options that OpenAI's API lacks but these servers take in the body.
_EXTRA_OPTIONS = ("top_k", "min_p")


def normalize_base_url(url: str) -> str:
    """`gpu1:8000` → `http://gpu1:8000/v1`: a scheme and the /v1 path when none is given."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    path = parts.path or "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(
        self,
        base_urls: list[str],
        *,
        api_key: str = "",
        default_model: str = "",
        timeout: float = 600.0,
    ):
        if not base_urls:
            raise ValueError(
                "the OpenAI-compatible backend needs a server: set HRBATCH_OPENAI_BASE_URL "
                "(e.g. http://127.0.0.1:8000/v1)."
            )
        self.base_urls = [normalize_base_url(u) for u in base_urls]
        self._api_key = api_key
        self._default_model = default_model
        self._timeout = timeout
        self._clients: dict[str, openai.AsyncOpenAI] = {}
        self._http: dict[str, httpx.AsyncClient] = {}
        self._pool = HostPool(self.base_urls)

    @property
    def default_model(self) -> str:
        return self._default_model

    @property
    def where(self) -> str:
        return ",".join(self.base_urls)

    def dialect(self, base_url: str) -> str:
        """How the server at `base_url` takes a JSON schema (JSON_SCHEMA until it refuses)."""
        return _dialects.get(base_url, JSON_SCHEMA)

    def _client(self, base_url: str) -> openai.AsyncOpenAI:
        if base_url not in self._clients:
            self._http[base_url] = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout, connect=5.0),
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
            )
            self._clients[base_url] = openai.AsyncOpenAI(
                base_url=base_url,
                # Local servers take any key; the SDK insists on one.
                api_key=self._api_key or "hrbatch",
                max_retries=0,
                timeout=httpx.Timeout(self._timeout, connect=5.0),
                http_client=self._http[base_url],
            )
        return self._clients[base_url]

    # -- chat -------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> ChatResult:
        return await self._pool.call(
            lambda url: self._chat_on(url, request), none_answered=_none_answered
        )

    def _params(self, request: ChatRequest, dialect: str) -> dict[str, Any]:
        params: dict[str, Any] = {"model": request.model, "messages": request.messages}
        extra: dict[str, Any] = {}
        grammar = dialect == GBNF and bool(request.grammar)
        options = request.options
        if isinstance(request.format, dict) and not grammar and dialect != JSON_OBJECT:
            # The server's own converter decides the whitespace (llama.cpp's, vLLM's);
            # llama-cpp-python's (json_object) allows one space, which the cap holds.
            options = request.schema_options()
        for option, value in options.items():
            if option in _OPTIONS and value is not None:
                params[_OPTIONS[option]] = value
            elif option in _EXTRA_OPTIONS and value is not None:
                extra[option] = value
        if grammar:
            extra["grammar"] = request.grammar
        elif isinstance(request.format, dict):
            if dialect != JSON_OBJECT:
                params["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "answer", "schema": request.format, "strict": True},
                }
            else:
                params["response_format"] = {"type": "json_object", "schema": request.format}
        elif request.format == "json":
            params["response_format"] = {"type": "json_object"}
        if extra:
            params["extra_body"] = extra
        return params

    async def _chat_on(self, base_url: str, request: ChatRequest) -> ChatResult:
        started = time.monotonic()
        if request.grammar and base_url not in _dialects and base_url not in _props_asked:
            # This process has not asked yet (a worker): is it llama.cpp's server?
            await self._learn_gbnf(base_url)
        dialect = self.dialect(base_url)
        try:
            try:
                response = await self._client(base_url).chat.completions.create(
                    **self._params(request, dialect)
                )
            except openai.APIStatusError as exc:
                if not (
                    isinstance(request.format, dict)
                    and dialect == JSON_SCHEMA
                    and _refuses_json_schema(exc)
                ):
                    raise
                # llama-cpp-python's server: the schema goes in a json_object format.
                _dialects[base_url] = JSON_OBJECT
                response = await self._client(base_url).chat.completions.create(
                    **self._params(request, JSON_OBJECT)
                )
        except Exception as exc:
            raise self._translate(exc, base_url, request.model) from exc
        if not response.choices:
            raise RequestFailed(f"the server at {base_url} answered with no choices.")
        choice = response.choices[0]
        usage = response.usage
        cached = None
        if usage is not None and usage.prompt_tokens_details is not None:
            cached = usage.prompt_tokens_details.cached_tokens
        return ChatResult(
            content=choice.message.content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            done_reason="length" if choice.finish_reason == "length" else "stop",
            cached_tokens=cached,
            latency_ms=int((time.monotonic() - started) * 1000),
            model=response.model or request.model,
        )

    # -- models -----------------------------------------------------------------------

    async def _models_on(self, base_url: str) -> list[ModelInfo]:
        try:
            page = await self._client(base_url).models.list()
        except Exception as exc:
            raise self._translate(exc, base_url, "") from exc
        found = []
        for m in page.data:
            extra = m.model_extra or {}
            # vLLM says how long a prompt the server takes; llama.cpp's server, the
            # model's trained context under `meta` (a server may run a shorter one).
            context = extra.get("max_model_len")
            identity = f"{base_url}|{m.id}|{m.owned_by}|{extra.get('root', '')}"
            found.append(
                ModelInfo(
                    name=m.id,
                    digest="openai:" + hashlib.sha256(identity.encode()).hexdigest()[:16],
                    context_length=int(context) if context else None,
                    details={"owned_by": m.owned_by, "server": base_url},
                )
            )
        return found

    async def list_models(self) -> list[ModelInfo]:
        seen: dict[str, ModelInfo] = {}
        errors: list[Exception] = []
        for url in self.base_urls:
            try:
                models = await self._models_on(url)
            except Exception as exc:
                errors.append(exc)
                continue
            for info in models:
                seen.setdefault(info.name, info)
        if errors and not seen:
            raise errors[0]
        return sorted(seen.values(), key=lambda m: m.name)

    async def model_info(self, model: str) -> ModelInfo:
        """The model on every server that answers (a run needs it wherever requests may go);
        with no model named, the one model the servers serve. Also learns each server's
        schema dialect, with a one-token request, so the run can say which one it used."""
        found: ModelInfo | None = None
        down: list[Unreachable] = []
        for url in self.base_urls:
            try:
                models = await self._models_on(url)
            except Unreachable as exc:
                # A server that is down is no reason not to start: requests go to the
                # others (and to it once it is back); only when none answers is it an outage.
                down.append(exc)
                continue
            names = [m.name for m in models]
            if not model:
                if len(names) != 1:
                    served = ", ".join(names) or "none"
                    raise ModelNotFound(
                        f"the server at {url} serves {len(names)} models ({served}); set "
                        "HRBATCH_MODEL to the one to use."
                    )
                model = names[0]
            if model not in names:
                raise ModelNotFound(
                    f"model {model} is not served at {url} (it serves: "
                    f"{', '.join(names) or 'none'}); start the server with it, or set "
                    "HRBATCH_MODEL to one it serves."
                )
            info = next(m for m in models if m.name == model)
            found = found or info
            await self._learn_dialect(url, model)
        if found is None:
            if len(self.base_urls) > 1:
                raise _none_answered(self.base_urls) from down[0]
            raise down[0]
        dialects = sorted({self.dialect(url) for url in self.base_urls})
        found.details["structured_output"] = ", ".join(dialects)
        return found

    async def _learn_gbnf(self, base_url: str) -> None:
        """Whether the server is llama.cpp's llama-server: its /props (beside /v1) names
        its default generation settings. Anything else (no /props, an error) leaves the
        dialect to be learnt from the schema's probe."""
        root = base_url.removesuffix("/v1")
        self._client(base_url)
        try:
            response = await self._http[base_url].get(
                root + "/props", headers={"Authorization": f"Bearer {self._api_key or 'hrbatch'}"}
            )
        except httpx.HTTPError:
            return  # not reachable now: asked again with the next request
        _props_asked.add(base_url)
        try:
            props = response.json() if response.status_code == 200 else None
        except ValueError:
            return
        if isinstance(props, dict) and "default_generation_settings" in props:
            _dialects[base_url] = GBNF

    async def _learn_dialect(self, base_url: str, model: str) -> None:
        if base_url in _dialects:
            return
        await self._learn_gbnf(base_url)
        if base_url in _dialects:
            return
        probe = ChatRequest(
            model=model,
            messages=[{"role": "user", "content": "Answer with JSON."}],
            format={"type": "object", "properties": {"ok": {"type": "boolean"}}},
            options={"temperature": 0.0, "num_predict": 1},
        )
        await self._chat_on(base_url, probe)
        _dialects.setdefault(base_url, JSON_SCHEMA)

    # -- slots ------------------------------------------------------------------------

    async def server_slots(self) -> list[ServerSlots]:
        """Each server's slots, from llama.cpp's /props (total_slots) and /slots (what each
        slot is doing, its context); servers without them (vLLM, LM Studio, Ollama's /v1)
        or not answering are left out."""
        found = []
        for url in self.base_urls:
            slots = await self._slots_on(url)
            if slots is not None:
                found.append(slots)
        return found

    async def _slots_on(self, base_url: str) -> ServerSlots | None:
        root = base_url.removesuffix("/v1")  # llama-server's /props and /slots: beside /v1
        self._client(base_url)
        http = self._http[base_url]
        headers = {"Authorization": f"Bearer {self._api_key or 'hrbatch'}"}
        try:
            props = await http.get(root + "/props", headers=headers, timeout=10.0)
            info = props.json() if props.status_code == 200 else {}
            total = info.get("total_slots") if isinstance(info, dict) else None
            if not isinstance(total, int) or total < 1:
                return None
            state = await http.get(root + "/slots", headers=headers, timeout=10.0)
            slots = state.json() if state.status_code == 200 else None  # --no-slots: 501
        except (httpx.HTTPError, ValueError):
            return None
        found = ServerSlots(where=root, total=total)
        settings = info.get("default_generation_settings")
        if isinstance(settings, dict) and isinstance(settings.get("n_ctx"), int):
            found.ctx = settings["n_ctx"]
        if isinstance(slots, list) and all(isinstance(s, dict) for s in slots):
            found.busy = sum(1 for s in slots if s.get("is_processing"))
            sizes = {s.get("n_ctx") for s in slots}
            if len(sizes) == 1 and isinstance(next(iter(sizes)), int):
                found.ctx = sizes.pop()
        return found

    # -- errors -----------------------------------------------------------------------

    def _translate(self, exc: Exception, base_url: str, model: str) -> Exception:
        if isinstance(exc, openai.APITimeoutError):
            return RequestFailed(f"the server at {base_url} did not answer in time.")
        if isinstance(exc, openai.APIConnectionError | httpx.ConnectError):
            error = Unreachable(
                f"the OpenAI-compatible server is not reachable at {base_url}; start it "
                "(or set HRBATCH_OPENAI_BASE_URL to where it runs)."
            )
            error.host = base_url
            return error
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return NotAllowed(
                f"the server at {base_url} refused hrbatch's API key ({_message(exc)}); set "
                "HRBATCH_OPENAI_API_KEY to the key the server was started with."
            )
        if isinstance(exc, openai.NotFoundError) and model:
            return ModelNotFound(
                f"model {model} is not served at {base_url}: {_message(exc)}; start the "
                "server with it, or set HRBATCH_MODEL to one it serves."
            )
        if isinstance(exc, openai.APIStatusError):
            if 400 <= exc.status_code < 500 and exc.status_code not in (408, 429):
                return BadRequest(f"the server at {base_url} refused the request: {_message(exc)}")
            return RequestFailed(
                f"the server at {base_url} failed on this request: {_message(exc)}"
            )
        if isinstance(exc, httpx.HTTPError):
            return RequestFailed(f"HTTP error talking to {base_url}: {exc!r}")
        return exc

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
        self._http.clear()


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:500]
        if isinstance(body.get("detail"), str | list):
            return str(body["detail"])[:500]
    return str(exc)[:500]


def _refuses_json_schema(exc: openai.APIStatusError) -> bool:
    """The server turned down OpenAI's `json_schema` response format (llama-cpp-python's
    says so in a validation error, with status 500 or 422)."""
    text = _message(exc).lower()
    return "json_schema" in text or ("response_format" in text and "json_object" in text)


def _none_answered(urls: list[str]) -> Unreachable:
    return Unreachable(
        f"no OpenAI-compatible server is reachable at {', '.join(urls)}; start them (or set "
        "HRBATCH_OPENAI_BASE_URL to where they run)."
    )
