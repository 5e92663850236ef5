"""A faithful fake Ollama HTTP server for tests and benchmarks (pure stdlib).

Real HTTP/1.1 (keep-alive, Content-Length, chunked NDJSON streaming) on 127.0.0.1, meant
to be driven by the real ``ollama`` Python client::

    with FakeOllama(slots=2, latency=0.05) as fake:
        client = ollama.Client(host=fake.url)
        client.chat(model="gemma3:12b", messages=[...], format=schema)

What it simulates:

* ``/``, ``/api/version``, ``/api/tags``, ``/api/ps``, ``/api/show``, ``/api/chat`` with the
  JSON shapes and error messages of Ollama 0.12; anything else is ``404 page not found``.
* ``slots`` parallel chat requests (``OLLAMA_NUM_PARALLEL``); further requests queue FIFO.
* Deterministic content: a JSON document that validates against ``format`` when it is a JSON
  schema, ``{"response": "ok"}`` for ``format="json"``, a short sentence otherwise.
* A per-slot prompt prefix cache like Ollama <= 0.12: ``prompt_eval_count`` is the full prompt
  token count, ``prompt_eval_duration`` only covers the uncached tokens.
* Silent truncation of prompts longer than ``options.num_ctx`` (default 4096).
* Failure injection: ``error_rate`` / ``fail_next`` (HTTP 500) and ``garbage_rate`` /
  ``garbage_next`` (200 with non-JSON content).

Also runnable: ``python -m devtools.fake_ollama --port 11434 --slots 8 --latency 0.1``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import random
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeOllama", "main"]

DEFAULT_MODELS = ["gemma3:12b", "llama3.2:3b"]
DEFAULT_NUM_CTX = 4096
DEFAULT_KEEP_ALIVE = 300.0  # seconds, like OLLAMA_KEEP_ALIVE=5m
PROMPT_EVAL_NS_PER_TOKEN = 100_000  # simulated prompt evaluation speed (10k tokens/s)
EVAL_NS_PER_TOKEN = 1_000_000  # simulated generation speed when latency == 0 (1000 tokens/s)
TOKENS_PER_MESSAGE = 4  # chat template overhead per message
MODIFIED_AT = "2025-10-01T12:00:00.000000Z"

PLAIN_ANSWER = "This is a fake answer from the fake Ollama server."
EOF_ERROR = "an error was encountered while running the model: unexpected EOF"
NOT_FOUND_TEXT = b"404 page not found"
_LOREM_TEXT = (
    "Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
    "ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation "
    "ullamco laboris nisi ut aliquip ex ea commodo consequat duis aute irure dolor in "
    "reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur"
)
LOREM = _LOREM_TEXT.split()

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    500: "Internal Server Error",
}
_PIECE_RE = re.compile(r"\s*\S+")
_WS_PIECE_RE = re.compile(r"\s|\S+")
_JSON_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|[^\s"\[\]{}:,]+|[\[\]{}:,]')
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_FAMILY_OVERRIDES = {"qwen2.5": "qwen2", "qwen2.5-coder": "qwen2", "llama3.2": "llama"}
_PARAM_OVERRIDES = {"gemma3:12b": "12.2B", "llama3.2:3b": "3.2B", "gemma3:4b": "4.3B"}


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _normalize_name(name: str) -> str:
    name = name.strip()
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def _digest(name: str) -> str:
    return hashlib.sha256(f"fake-ollama:{name}".encode()).hexdigest()


def _family(name: str) -> str:
    base = name.split(":", 1)[0].rsplit("/", 1)[-1].lower()
    if base in _FAMILY_OVERRIDES:
        return _FAMILY_OVERRIDES[base]
    if base.startswith("llama"):
        return "llama"
    m = re.match(r"[a-z]+\d*", base)
    return m.group(0) if m else "llama"


def _parameter_size(name: str) -> str:
    if name in _PARAM_OVERRIDES:
        return _PARAM_OVERRIDES[name]
    m = re.search(r"(\d+(?:\.\d+)?)b\b", name.split(":", 1)[-1].lower())
    return f"{m.group(1)}B" if m else "7.6B"


def _model_size(name: str) -> int:
    params = float(_parameter_size(name)[:-1])
    return int(params * 0.66e9) + int(_digest(name)[:6], 16)


def _now_rfc3339() -> str:
    ns = time.time_ns()
    sec, frac = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _parse_keep_alive(value: Any) -> float | None:
    """Seconds to keep a model loaded; negative = forever; None = default."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        sign = -1.0 if text.startswith("-") else 1.0
        text = text.lstrip("+-")
        try:
            return sign * float(text)
        except ValueError:
            pass
        parts = _DURATION_RE.findall(text)
        if parts:
            return sign * sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    return None


def _common_prefix_len(a: str, b: str) -> int:
    """Length of the longest common prefix, using C-level slice comparisons (O(n log n))."""
    n = min(len(a), len(b))
    if n == 0 or a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo], a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def _request_json(body: bytes, handler: Any, go_type: str) -> dict[str, Any] | None:
    """The request's JSON object, or None after answering 400 the way Ollama's Go does."""
    try:
        req = json.loads(body) if body else None
    except json.JSONDecodeError as exc:
        handler.send_error_json(400, _go_json_error(exc))
        return None
    if req is None:
        handler.send_error_json(400, "missing request body")
        return None
    if not isinstance(req, dict):
        handler.send_error_json(400, f"json: cannot unmarshal into Go value of type {go_type}")
        return None
    return req


def _go_json_error(exc: json.JSONDecodeError) -> str:
    pos = exc.pos
    if pos < len(exc.doc):
        return f"invalid character {exc.doc[pos]!r} looking for beginning of value"
    return "unexpected EOF"


# --------------------------------------------------------------------------------------------
# content generation from a JSON schema
# --------------------------------------------------------------------------------------------


class _SchemaGen:
    """Generates a (deterministic, given ``rng``) instance that validates against a schema."""

    def __init__(self, root: dict[str, Any], rng: random.Random) -> None:
        self.root = root
        self.rng = rng

    def _resolve(self, ref: str) -> dict[str, Any]:
        node: Any = self.root
        if not ref.startswith("#"):
            return {}
        for part in ref.lstrip("#").strip("/").split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return {}
            node = node[part]
        return node if isinstance(node, dict) else {}

    def gen(self, schema: Any, depth: int = 0) -> Any:
        if schema is True or not isinstance(schema, dict) or depth > 12:
            return "ok"
        rng = self.rng
        if "$ref" in schema:
            merged = {**self._resolve(schema["$ref"]), **schema}
            merged.pop("$ref")
            return self.gen(merged, depth + 1)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return rng.choice(schema["enum"])
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                non_null = [
                    o for o in options if not (isinstance(o, dict) and o.get("type") == "null")
                ]
                return self.gen(non_null[0] if non_null else options[0], depth + 1)
        if isinstance(schema.get("allOf"), list) and schema["allOf"]:
            merged = {}
            for sub in schema["allOf"]:
                if isinstance(sub, dict):
                    merged.update(sub)
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return self.gen({**merged, **rest}, depth + 1)

        typ = schema.get("type")
        if isinstance(typ, list):
            non_null = [t for t in typ if t != "null"]
            typ = non_null[0] if non_null else "null"
        if typ is None:
            if "properties" in schema:
                typ = "object"
            elif "items" in schema or "prefixItems" in schema:
                typ = "array"
            else:
                typ = "string"

        if typ == "object":
            props = schema.get("properties") or {}
            out: dict[str, Any] = {}
            for name, sub in props.items():
                out[name] = self.gen(sub, depth + 1)
            for name in schema.get("required") or []:
                if name not in out:
                    out[name] = "ok"
            return out
        if typ == "array":
            return self._array(schema, depth)
        if typ == "integer":
            return self._integer(schema)
        if typ == "number":
            return self._number(schema)
        if typ == "boolean":
            return rng.random() < 0.5
        if typ == "null":
            return None
        return self._string(schema)

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list):
            return [self.gen(sub, depth + 1) for sub in prefix]
        lo = schema.get("minItems")
        hi = schema.get("maxItems")
        if lo is None and hi is None:
            n = 1
        elif hi is None:
            n = max(int(lo), 1)
        elif lo is None:
            n = min(1, int(hi))
        else:
            n = self.rng.randint(int(lo), max(int(lo), int(hi)))
        items = schema.get("items", {})
        out: list[Any] = []
        for _ in range(n):
            value = self.gen(items, depth + 1)
            if schema.get("uniqueItems"):
                for _retry in range(20):
                    if value not in out:
                        break
                    value = self.gen(items, depth + 1)
            out.append(value)
        return out

    def _bounds(self, schema: dict[str, Any], integer: bool) -> tuple[float, float]:
        lo: float | None = schema.get("minimum")
        hi: float | None = schema.get("maximum")
        exlo, exhi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        step = 1 if integer else 0.01
        if isinstance(exlo, int | float) and not isinstance(exlo, bool):
            lo = exlo + step if lo is None else max(lo, exlo + step)
        if isinstance(exhi, int | float) and not isinstance(exhi, bool):
            hi = exhi - step if hi is None else min(hi, exhi - step)
        if lo is None and hi is None:
            lo, hi = (1, 10) if integer else (0.0, 1.0)
        elif lo is None:
            assert hi is not None
            lo = hi - 10
        elif hi is None:
            hi = lo + 10
        assert lo is not None and hi is not None
        return lo, max(lo, hi)

    def _integer(self, schema: dict[str, Any]) -> int:
        lo, hi = self._bounds(schema, integer=True)
        ilo, ihi = math.ceil(lo), math.floor(hi)
        value = self.rng.randint(ilo, max(ilo, ihi))
        mult = schema.get("multipleOf")
        if isinstance(mult, int) and mult > 0:
            candidate = math.ceil(ilo / mult) * mult
            value = candidate if candidate <= ihi else value
        return value

    def _number(self, schema: dict[str, Any]) -> float:
        lo, hi = self._bounds(schema, integer=False)
        value = round(self.rng.uniform(lo, hi), 2)
        return min(max(value, lo), hi)

    def _string(self, schema: dict[str, Any]) -> str:
        fmt = schema.get("format")
        fixed = {
            "date-time": "2026-01-15T09:30:00Z",
            "date": "2026-01-15",
            "time": "09:30:00Z",
            "email": "jane.doe@example.com",
            "uri": "https://example.com/",
            "uuid": "123e4567-e89b-42d3-a456-426614174000",
        }.get(fmt or "")
        if fixed is not None:
            return fixed
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            # Ollama's grammar makes the model write a string the pattern matches.
            return _from_pattern(pattern, self.rng)
        rng = self.rng
        start = rng.randrange(len(LOREM))
        count = rng.randint(6, 14)
        words = [LOREM[(start + i) % len(LOREM)] for i in range(count)]
        text = " ".join(words).capitalize() + "."
        max_len = schema.get("maxLength")
        if isinstance(max_len, int) and max_len >= 0 and len(text) > max_len:
            text = text[:max_len].rstrip()
        min_len = schema.get("minLength")
        if isinstance(min_len, int) and len(text) < min_len:
            text = text + "x" * (min_len - len(text))
        return text


def _from_pattern(pattern: str, rng: random.Random) -> str:
    """A string the regular expression matches, drawn from its parse tree: literals,
    classes and ranges, groups, alternatives and bounded repeats (what JSON-schema patterns
    for structured output use). Anchors match the whole string, as llama.cpp's grammar
    does."""
    import re._parser as sre  # the parser of the `re` module itself

    def draw(items: Any) -> str:
        out = []
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(arg))
            elif name == "ANY":
                out.append(rng.choice(LOREM)[0])
            elif name == "IN":
                choices: list[str] = []
                for kind, value in arg:
                    if str(kind) == "LITERAL":
                        choices.append(chr(value))
                    elif str(kind) == "RANGE":
                        choices.extend(chr(c) for c in range(value[0], value[1] + 1))
                    elif str(kind) == "CATEGORY":
                        choices.extend("0123456789" if "DIGIT" in str(value) else "abcxyz")
                out.append(rng.choice(choices or ["x"]))
            elif name == "BRANCH":
                out.append(draw(rng.choice(arg[1])))
            elif name == "SUBPATTERN":
                out.append(draw(arg[-1]))
            elif name in ("MAX_REPEAT", "MIN_REPEAT"):
                low, high, sub = arg
                high = low + 3 if high == sre.MAXREPEAT else high
                out.extend(draw(sub) for _ in range(rng.randint(low, high)))
            # AT (anchors) add nothing
        return "".join(out)

    return draw(sre.parse(pattern))


# --------------------------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # async clients open many connections at once

    fake: FakeOllama

    def __init__(self, addr: tuple[str, int], fake: FakeOllama) -> None:
        self.fake = fake
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def close_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().close_request(request)

    def close_all_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # client went away / server stopped: stay quiet


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOllama"
    disable_nagle_algorithm = True
    server: _Server

    _date_cache: tuple[int, str] = (0, "")

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # ---- low level writers -------------------------------------------------------------

    @classmethod
    def _date(cls) -> str:
        now = int(time.time())
        cached = cls._date_cache
        if cached[0] != now:
            cached = (now, formatdate(now, usegmt=True))
            cls._date_cache = cached
        return cached[1]

    def _head(self, status: int, ctype: str, extra: str = "") -> str:
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            f"Content-Type: {ctype}\r\nDate: {self._date()}\r\n{extra}"
        )
        if self.close_connection:
            head += "Connection: close\r\n"
        return head

    def send_body(self, status: int, body: bytes, ctype: str, head_only: bool = False) -> None:
        head = self._head(status, ctype, f"Content-Length: {len(body)}\r\n") + "\r\n"
        data = head.encode("latin-1") if head_only else head.encode("latin-1") + body
        self.wfile.write(data)

    def send_json(self, status: int, obj: Any) -> None:
        self.send_body(status, _dumps(obj), "application/json; charset=utf-8")

    def send_error_json(self, status: int, message: str) -> None:
        self.send_json(status, {"error": message})

    def send_not_found(self, head_only: bool = False) -> None:
        self.send_body(404, NOT_FOUND_TEXT, "text/plain", head_only)

    def send_stream(self, lines: list[bytes], delay: float = 0.0) -> None:
        """NDJSON with chunked transfer encoding; one chunk per line."""
        head = self._head(200, "application/x-ndjson", "Transfer-Encoding: chunked\r\n") + "\r\n"
        chunks = [b"%x\r\n%s\n\r\n" % (len(line) + 1, line) for line in lines]
        if delay <= 0:
            self.wfile.write(head.encode("latin-1") + b"".join(chunks) + b"0\r\n\r\n")
            return
        self.wfile.write(head.encode("latin-1"))
        for i, chunk in enumerate(chunks):
            if i:
                time.sleep(delay)
            self.wfile.write(chunk)
        self.wfile.write(b"0\r\n\r\n")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    # ---- routing -----------------------------------------------------------------------

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        fake = self.server.fake
        if self.headers.get("Content-Length") or self.headers.get("Transfer-Encoding"):
            self._read_body()
        if path == "/":
            self.send_body(200, b"Ollama is running", "text/plain; charset=utf-8")
        elif path == "/api/version":
            self.send_json(200, {"version": fake.version})
        elif path == "/api/tags":
            self.send_json(200, fake._tags())
        elif path == "/api/ps":
            self.send_json(200, fake._ps())
        elif path == "/v1/models":
            self.send_json(200, fake._openai_models())
        else:
            with fake._lock:
                fake.not_found.append(path)
            self.send_not_found()

    def do_HEAD(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/":
            self.send_body(200, b"Ollama is running", "text/plain; charset=utf-8", True)
        else:
            self.send_not_found(head_only=True)

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        body = self._read_body()
        if path == "/api/chat":
            self.server.fake._chat(body, self)
        elif path == "/api/show":
            self.server.fake._show(body, self)
        elif path == "/v1/chat/completions":
            self.server.fake._openai_chat(body, self)
        else:
            self.send_not_found()

    def _other(self) -> None:
        self._read_body()
        self.send_not_found()

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _other


# --------------------------------------------------------------------------------------------
# the fake server
# --------------------------------------------------------------------------------------------


class _Stopped(Exception):
    pass


class FakeOllama:
    """A fake Ollama server on 127.0.0.1 (see module docstring).

    All constructor knobs are plain attributes and may be changed while running.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        models: list[str] | None = None,
        slots: int = 4,
        latency: float = 0.0,
        per_token_latency: float = 0.0,
        error_rate: float = 0.0,
        garbage_rate: float = 0.0,
        context_length: int = 131072,
        version: str = "0.12.6",
        seed: int = 0,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self.models: list[str] = list(DEFAULT_MODELS if models is None else models)
        self.slots = slots
        self.latency = latency
        self.per_token_latency = per_token_latency
        self.error_rate = error_rate
        self.garbage_rate = garbage_rate
        self.context_length = context_length
        self.version = version
        self.seed = seed

        self.url = ""
        self.fail_next = 0
        self.garbage_next = 0
        # Answers padded with whitespace as llama.cpp's JSON-schema grammar allows (up to
        # "\n" + 20 tabs after every JSON token): what a small model drifts into.
        self.pad_next = 0
        # GET paths it answered 404 (what a client asked that Ollama does not serve).
        self.not_found: list[str] = []
        self.record_requests = True  # set False for long benchmarks (unbounded list otherwise)

        self.requests: list[dict[str, Any]] = []
        self.chat_count = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.prompt_tokens_total = 0
        self.cached_tokens_total = 0

        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._slot_cond = threading.Condition(threading.Lock())
        self._slot_busy: list[bool] = []
        self._slot_cache: list[tuple[str, str]] = []  # (model, text) last processed per slot
        self._slot_used: list[int] = []  # LRU stamp
        self._slot_stamp = 0
        self._ticket_next = 0
        self._ticket_serving = 0
        self._skipped_tickets: set[int] = set()
        self._loaded: dict[str, dict[str, Any]] = {}  # normalized name -> load info
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

    @property
    def queued(self) -> int:
        """Requests waiting for a slot (a sample for benchmarks; read without the lock)."""
        return max(self._ticket_next - self._ticket_serving, 0)

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeOllama:
        if self._server is not None:
            return self
        self._stopping = False
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]  # a restart reuses the same port
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-ollama-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        self._server = None
        with self._slot_cond:
            self._stopping = True
            self._slot_cond.notify_all()
        server.shutdown()
        server.server_close()
        server.close_all_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            self._loaded.clear()

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget recorded requests, counters, slot caches and loaded models."""
        with self._lock:
            self.requests.clear()
            self.not_found.clear()
            self.chat_count = 0
            self.max_in_flight = self.in_flight
            self.prompt_tokens_total = 0
            self.cached_tokens_total = 0
            self._loaded.clear()
        with self._slot_cond:
            self._slot_cache = [("", "")] * len(self._slot_cache)

    def __repr__(self) -> str:
        return f"<FakeOllama {self.url or 'stopped'} slots={self.slots} chats={self.chat_count}>"

    # ---- model metadata ----------------------------------------------------------------

    def _find_model(self, name: Any) -> str | None:
        if not isinstance(name, str) or not name:
            return None
        wanted = _normalize_name(name)
        for model in self.models:
            if _normalize_name(model) == wanted:
                return wanted
        return None

    @staticmethod
    def _details(name: str) -> dict[str, Any]:
        family = _family(name)
        return {
            "parent_model": "",
            "format": "gguf",
            "family": family,
            "families": [family],
            "parameter_size": _parameter_size(name),
            "quantization_level": "Q4_K_M",
        }

    def _tags(self) -> dict[str, Any]:
        models = []
        for model in self.models:
            name = _normalize_name(model)
            models.append(
                {
                    "name": name,
                    "model": name,
                    "modified_at": MODIFIED_AT,
                    "size": _model_size(name),
                    "digest": _digest(name),
                    "details": self._details(name),
                }
            )
        return {"models": models}

    def _ps(self) -> dict[str, Any]:
        now = time.time()
        models = []
        with self._lock:
            for name, info in list(self._loaded.items()):
                if info["expires"] < now:
                    del self._loaded[name]
                    continue
                size = _model_size(name)
                models.append(
                    {
                        "name": name,
                        "model": name,
                        "size": size,
                        "digest": _digest(name),
                        "details": self._details(name),
                        "expires_at": _iso(min(info["expires"], 10_000_000_000.0)),
                        "size_vram": size,
                        "context_length": info["num_ctx"],
                    }
                )
        return {"models": models}

    def _show(self, body: bytes, handler: _Handler) -> None:
        req = _request_json(body, handler, "api.ShowRequest")
        if req is None:
            return
        raw = req.get("name") or req.get("model") or ""
        if not raw:
            handler.send_error_json(400, "model is required")
            return
        name = self._find_model(raw)
        if name is None:
            handler.send_error_json(404, f"model '{raw}' not found")
            return
        family = _family(name)
        params = float(_parameter_size(name)[:-1])
        template = (
            "{{- range .Messages }}<start_of_turn>{{ .Role }}\n{{ .Content }}<end_of_turn>\n"
            "{{ end }}<start_of_turn>model\n"
        )
        parameters = 'stop "<end_of_turn>"\ntemperature 1\ntop_k 64\ntop_p 0.95'
        handler.send_json(
            200,
            {
                "license": "Fake license for tests.",
                "modelfile": (
                    '# Modelfile generated by "ollama show"\n'
                    f"FROM /usr/share/ollama/.ollama/models/blobs/sha256-{_digest(name)}\n"
                    f'TEMPLATE """{template}"""\n'
                    + "".join(f"PARAMETER {line}\n" for line in parameters.splitlines())
                ),
                "parameters": parameters,
                "template": template,
                "details": self._details(name),
                "model_info": {
                    "general.architecture": family,
                    "general.file_type": 15,
                    "general.parameter_count": int(params * 1e9),
                    "general.quantization_version": 2,
                    f"{family}.attention.head_count": 16,
                    f"{family}.block_count": 48,
                    f"{family}.context_length": self.context_length,
                    f"{family}.embedding_length": 3840,
                },
                "tensors": [],
                "capabilities": ["completion"],
                "modified_at": MODIFIED_AT,
            },
        )

    # ---- slots -------------------------------------------------------------------------

    def _acquire_slot(self, model: str, text: str) -> tuple[int, int]:
        """Block until a slot is free (FIFO); return (slot index, cached prefix chars)."""
        with self._slot_cond:
            ticket = self._ticket_next
            self._ticket_next += 1
            try:
                while True:
                    if self._stopping:
                        raise _Stopped
                    n = max(1, int(self.slots))
                    if len(self._slot_busy) < n:
                        grow = n - len(self._slot_busy)
                        self._slot_busy += [False] * grow
                        self._slot_cache += [("", "")] * grow
                        self._slot_used += [0] * grow
                    if ticket == self._ticket_serving and self.in_flight < n:
                        free = [i for i in range(n) if not self._slot_busy[i]]
                        if free:
                            break
                    self._slot_cond.wait()
            except BaseException:
                # give our turn away so that the queue does not get stuck
                if ticket == self._ticket_serving:
                    self._advance_ticket()
                else:
                    self._skipped_tickets.add(ticket)
                self._slot_cond.notify_all()
                raise
            self._advance_ticket()
            best, best_len = self._pick_slot(n, free, model, text)
            self._slot_busy[best] = True
            self._slot_stamp += 1
            self._slot_used[best] = self._slot_stamp
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._slot_cond.notify_all()
            return best, max(best_len, 0)

    def _pick_slot(self, n: int, free: list[int], model: str, text: str) -> tuple[int, int]:
        """Ollama <= 0.12 runner slot choice (runner/llamarunner/cache.go).

        One slot: the free slot with the longest common prefix (findLongestCacheSlot).
        Several slots (multi-user cache, findBestCacheSlot): if the slot with the longest
        common prefix is free and its whole cache is a prefix of the prompt, reuse it;
        otherwise take the least recently used free slot and fork the longest prefix into it.
        """

        def prefix(i: int) -> int:
            cached_model, cached_text = self._slot_cache[i]
            return _common_prefix_len(cached_text, text) if cached_model == model else 0

        if n == 1:
            return free[0], prefix(free[0])
        longest, longest_slot = -1, 0
        for i in range(n):
            plen = prefix(i)
            if plen > longest:
                longest, longest_slot = plen, i
        cached_model, cached_text = self._slot_cache[longest_slot]
        if (
            not self._slot_busy[longest_slot]
            and cached_model == model
            and longest == len(cached_text)
        ):
            return longest_slot, longest
        oldest = min(free, key=self._slot_used.__getitem__)
        return oldest, longest

    def _advance_ticket(self) -> None:
        self._ticket_serving += 1
        while self._ticket_serving in self._skipped_tickets:
            self._skipped_tickets.discard(self._ticket_serving)
            self._ticket_serving += 1

    def _release_slot(self, slot: int, model: str, text: str | None) -> None:
        with self._slot_cond:
            self._slot_busy[slot] = False
            if text is not None:
                self._slot_cache[slot] = (model, text)
            self.in_flight -= 1
            self._slot_cond.notify_all()

    # ---- chat --------------------------------------------------------------------------

    def _chat(self, body: bytes, handler: _Handler) -> None:
        t0 = time.perf_counter_ns()
        req = _request_json(body, handler, "api.ChatRequest")
        if req is None:
            return

        with self._lock:
            if self.record_requests:
                self.requests.append(req)

        raw_model = req.get("model")
        if not raw_model:
            handler.send_error_json(400, "model is required")
            return
        name = self._find_model(raw_model)
        if name is None:
            handler.send_error_json(404, f'model "{raw_model}" not found, try pulling it first')
            return
        fmt = req.get("format")
        if isinstance(fmt, str) and fmt not in ("", "json"):
            handler.send_error_json(400, 'invalid format: expected "json" or a valid JSON schema')
            return
        options = req.get("options") or {}
        if not isinstance(options, dict):
            options = {}
        stream = req.get("stream", True) is not False
        messages = [m for m in (req.get("messages") or []) if isinstance(m, dict)]
        keep_alive = _parse_keep_alive(req.get("keep_alive"))

        num_ctx = options.get("num_ctx")
        if not isinstance(num_ctx, int) or isinstance(num_ctx, bool) or num_ctx <= 0:
            num_ctx = DEFAULT_NUM_CTX
        num_ctx = min(num_ctx, int(self.context_length))

        load_duration = self._touch_model(name, num_ctx, keep_alive)

        if not messages:  # load (or unload) request: no inference, no slot
            with self._lock:
                self.chat_count += 1
            unload = keep_alive is not None and keep_alive == 0
            if unload:
                with self._lock:
                    self._loaded.pop(name, None)
            handler.send_json(
                200,
                {
                    "model": raw_model,
                    "created_at": _now_rfc3339(),
                    "message": {"role": "assistant", "content": ""},
                    "done_reason": "unload" if unload else "load",
                    "done": True,
                },
            )
            return

        # outcome is decided in arrival order
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                outcome = "error"
            elif self.garbage_next > 0:
                self.garbage_next -= 1
                outcome = "garbage"
            elif self.pad_next > 0:
                self.pad_next -= 1
                outcome = "padded"
            elif self.error_rate > 0 and self._rng.random() < self.error_rate:
                outcome = "error"
            elif self.garbage_rate > 0 and self._rng.random() < self.garbage_rate:
                outcome = "garbage"
            else:
                outcome = "ok"

        # prompt: rendered text + token count (ceil(len/4) + overhead per message)
        parts: list[str] = []
        prompt_tokens = 0
        last_user = ""
        for m in messages:
            content = m.get("content") or ""
            if not isinstance(content, str):
                content = str(content)
            role = str(m.get("role") or "user")
            parts.append(f"<{role}>\n{content}\n")
            prompt_tokens += (len(content) + 3) // 4 + TOKENS_PER_MESSAGE
            if role == "user":
                last_user = content
        text = "".join(parts)
        if prompt_tokens > num_ctx:  # truncate like Ollama: keep the tail
            keep_chars = len(text) * num_ctx // prompt_tokens
            text = text[len(text) - keep_chars :]
            prompt_tokens = num_ctx

        content = self._generate(fmt, last_user, options, outcome)

        try:
            slot, cached_chars = self._acquire_slot(name, text)
        except _Stopped:
            return
        cache_text: str | None = None
        try:
            cached_tokens = prompt_tokens * cached_chars // len(text) if text else 0
            uncached = max(1, prompt_tokens - cached_tokens)  # Ollama always evaluates >= 1
            cached_tokens = prompt_tokens - uncached
            prompt_sleep = self.per_token_latency * uncached
            if prompt_sleep > 0:
                time.sleep(prompt_sleep)
            prompt_eval_duration = uncached * PROMPT_EVAL_NS_PER_TOKEN + int(prompt_sleep * 1e9)
            latency = float(self.latency)
            if (outcome == "error" or not stream) and latency > 0:
                time.sleep(latency)

            if outcome == "error":
                with self._lock:
                    self.chat_count += 1
                handler.send_error_json(500, EOF_ERROR)
                return

            # A padded answer's whitespace is a token per character (the worst case).
            pieces = (_WS_PIECE_RE if outcome == "padded" else _PIECE_RE).findall(content) or [
                content
            ]
            done_reason = "stop"
            num_predict = options.get("num_predict")
            if type(num_predict) is int and 0 < num_predict < len(pieces):
                # Cut off at the token cap, as Ollama does.
                pieces = pieces[:num_predict]
                content = "".join(pieces)
                done_reason = "length"
            eval_count = len(pieces)
            eval_duration = int(latency * 1e9) if latency > 0 else eval_count * EVAL_NS_PER_TOKEN
            cache_text = f"{text}<assistant>\n{content}\n"
            with self._lock:
                self.chat_count += 1
                self.prompt_tokens_total += prompt_tokens
                self.cached_tokens_total += cached_tokens

            def final(extra: dict[str, Any]) -> dict[str, Any]:
                wall = time.perf_counter_ns() - t0
                total = max(wall, load_duration + prompt_eval_duration + eval_duration)
                return {
                    "model": raw_model,
                    "created_at": _now_rfc3339(),
                    **extra,
                    "done_reason": done_reason,
                    "done": True,
                    "total_duration": total,
                    "load_duration": load_duration,
                    "prompt_eval_count": prompt_tokens,
                    "prompt_eval_duration": prompt_eval_duration,
                    "eval_count": eval_count,
                    "eval_duration": eval_duration,
                }

            if not stream:
                message = {"role": "assistant", "content": content}
                handler.send_json(200, final({"message": message}))
                return
            created = _now_rfc3339()
            lines = [
                _dumps(
                    {
                        "model": raw_model,
                        "created_at": created,
                        "message": {"role": "assistant", "content": piece},
                        "done": False,
                    }
                )
                for piece in pieces
            ]
            lines.append(_dumps(final({"message": {"role": "assistant", "content": ""}})))
            delay = latency / len(pieces) if latency > 0 else 0.0
            handler.send_stream(lines, delay)
        finally:
            self._release_slot(slot, name, cache_text)
            if keep_alive is not None and keep_alive == 0:
                with self._lock:
                    self._loaded.pop(name, None)

    # ---- Ollama's OpenAI-compatible endpoints (/v1) -------------------------------------

    def _openai_models(self) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {
                    "id": _normalize_name(m),
                    "object": "model",
                    "created": int(time.time()),
                    "owned_by": "library",
                }
                for m in self.models
            ],
        }

    def _openai_chat(self, body: bytes, handler: _Handler) -> None:
        """/v1/chat/completions as Ollama's openai middleware does it: the body becomes an
        /api/chat request (max_tokens → num_predict, temperature and top_p 1.0 when not
        given, response_format json_object → "json", json_schema → its schema; no num_ctx),
        and the answer a chat.completion object."""
        try:
            req = json.loads(body) if body else None
        except json.JSONDecodeError as exc:
            _openai_error(handler, 400, _go_json_error(exc))
            return
        if not isinstance(req, dict):
            _openai_error(handler, 400, "invalid request body")
            return
        if req.get("stream"):
            _openai_error(handler, 400, "the fake serves stream=false only")
            return
        options: dict[str, Any] = {
            "temperature": req.get("temperature", 1.0)
            if req.get("temperature") is not None
            else 1.0,
            "top_p": req.get("top_p") if req.get("top_p") is not None else 1.0,
        }
        max_tokens = req.get("max_completion_tokens") or req.get("max_tokens")
        if max_tokens is not None:
            options["num_predict"] = max_tokens
        for key in ("seed", "frequency_penalty", "presence_penalty"):
            if req.get(key) is not None:
                options[key] = req[key]
        if req.get("stop") is not None:
            stop = req["stop"]
            options["stop"] = [stop] if isinstance(stop, str) else stop
        fmt: Any = None
        response_format = req.get("response_format")
        if isinstance(response_format, dict):
            kind = response_format.get("type")
            if kind == "json_object":
                fmt = "json"
            elif kind == "json_schema":
                schema = (response_format.get("json_schema") or {}).get("schema")
                if not isinstance(schema, dict):
                    _openai_error(handler, 400, "invalid json_schema: schema is required")
                    return
                fmt = schema
            elif kind not in (None, "text"):
                _openai_error(handler, 400, f"invalid response_format type: {kind}")
                return
        inner = {
            "model": req.get("model"),
            "messages": req.get("messages") or [],
            "options": options,
            "stream": False,
        }
        if fmt is not None:
            inner["format"] = fmt
        captured = _Captured()
        self._chat(_dumps(inner), captured)  # type: ignore[arg-type]
        status, answer = captured.status, captured.body
        if status != 200 or not isinstance(answer, dict):
            message = answer.get("error") if isinstance(answer, dict) else str(answer)
            _openai_error(handler, status, str(message))
            return
        prompt, completion = answer["prompt_eval_count"], answer["eval_count"]
        handler.send_json(
            200,
            {
                "id": f"chatcmpl-{random.randint(0, 999)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": req.get("model"),
                "system_fingerprint": "fp_ollama",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer["message"]["content"]},
                        "finish_reason": "length"
                        if answer.get("done_reason") == "length"
                        else "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            },
        )

    def _touch_model(self, name: str, num_ctx: int, keep_alive: float | None) -> int:
        """Mark ``name`` as loaded; return the simulated load_duration in ns."""
        now = time.time()
        ttl = DEFAULT_KEEP_ALIVE if keep_alive is None else keep_alive
        expires = now + 100 * 365 * 86400 if ttl < 0 else now + ttl
        with self._lock:
            info = self._loaded.get(name)
            cold = info is None or info["expires"] < now
            self._loaded[name] = {"expires": expires, "num_ctx": num_ctx}
        return 50_000_000 if cold else 100_000

    def _generate(self, fmt: Any, last_user: str, options: dict[str, Any], outcome: str) -> str:
        opt_seed = options.get("seed")
        key = f"{self.seed}|{opt_seed}|{last_user}".encode()
        rng = random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))
        doc: Any = None
        if isinstance(fmt, dict):
            doc = _SchemaGen(fmt, rng).gen(fmt)
        if outcome == "garbage":
            if isinstance(doc, dict):
                scalars = [f"{k}={v}" for k, v in doc.items() if isinstance(v, int | float | bool)]
                if scalars:
                    return "Sure! Here are the scores: " + ", ".join(scalars)
            return "Sure! Here are the scores: technical_skills=7"
        if isinstance(fmt, dict):
            if outcome == "padded":
                return padded_json(json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
            return json.dumps(doc, ensure_ascii=False)
        if fmt == "json":
            return '{"response": "ok"}'
        return PLAIN_ANSWER


def padded_json(compact: str) -> str:
    """`compact` JSON with "\n" and 20 tabs after every token: the most whitespace
    llama.cpp's JSON-schema grammar lets stand there."""
    return "".join(token + "\n" + "\t" * 20 for token in _JSON_TOKEN_RE.findall(compact))


class _Captured:
    """Stands in for the HTTP handler when the /v1 layer calls the /api/chat code."""

    status = 0
    body: Any = None

    def send_json(self, status: int, obj: Any) -> None:
        self.status, self.body = status, obj

    def send_error_json(self, status: int, message: str) -> None:
        self.status, self.body = status, {"error": message}

    def send_stream(self, lines: list[bytes], delay: float = 0.0) -> None:
        raise AssertionError("the /v1 layer asks for stream=false")


def _openai_error(handler: Any, status: int, message: str) -> None:
    kind = "invalid_request_error" if 400 <= status < 500 else "api_error"
    handler.send_json(
        status, {"error": {"message": message, "type": kind, "param": None, "code": None}}
    )


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------


def _parse_args(argv: Iterable[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m devtools.fake_ollama", description="Fake Ollama HTTP server."
    )
    p.add_argument("--port", type=int, default=11434)
    p.add_argument("--slots", type=int, default=4)
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--per-token-latency", type=float, default=0.0)
    p.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma separated")
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--garbage-rate", type=float, default=0.0)
    p.add_argument("--context-length", type=int, default=131072)
    p.add_argument("--version", default="0.12.6")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(list(argv) if argv is not None else None)


def main(argv: Iterable[str] | None = None) -> int:
    args = _parse_args(argv)
    fake = FakeOllama(
        port=args.port,
        models=[m.strip() for m in args.models.split(",") if m.strip()],
        slots=args.slots,
        latency=args.latency,
        per_token_latency=args.per_token_latency,
        error_rate=args.error_rate,
        garbage_rate=args.garbage_rate,
        context_length=args.context_length,
        version=args.version,
        seed=args.seed,
    )
    fake.record_requests = False  # a long-running process must not grow without bound
    done = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    fake.start()
    print(f"listening on {fake.url}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
