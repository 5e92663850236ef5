"""OpenAI request bodies as pydantic models, and the mapping of a chat body onto the backend.

The three doors of /v1 that take a body — `POST /v1/chat/completions`, `POST /v1/batches`
and each line of a batch input file — validate it through the models here
(`ChatCompletionBody`, `BatchCreateBody`, `BatchLine`), so the same rules hold at each, and
every refusal reaches the client as OpenAI's error through one function (`openai_error`):
a message, type `invalid_request_error`, `param` naming the field from pydantic's `loc`
(`messages[0].role`, `body.temperature`, `metadata`) and a code.

The second half maps a valid chat body onto a backend `ChatRequest` (Ollama's native
options: temperature, num_predict, format…) and an answer back onto OpenAI's
`chat.completion` object. services.batches, engine.handlers and the API call it.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError

from . import prompting
from .llm import BadRequest, ChatRequest, ChatResult

CHAT_COMPLETIONS = "/v1/chat/completions"
Endpoint = Literal["/v1/chat/completions"]
SUPPORTED_ENDPOINTS = get_args(Endpoint)
CompletionWindow = Literal["24h"]
COMPLETION_WINDOWS = {"24h": timedelta(hours=24)}

# OpenAI's limits on batch metadata.
METADATA_MAX_PAIRS = 16
METADATA_KEY_MAX = 64
METADATA_VALUE_MAX = 512
CUSTOM_ID_MAX = 255  # Item.custom_id

# Far deeper than any chat request needs (a strict OpenAI JSON schema nests at most 10
# levels). Deeper input is refused before anything recurses over it: Python's parser raises
# RecursionError near 1,000 levels, and json.dumps, Django's JSONField and the ollama
# client would each hit the same limit later, in a worker, where it crashed the ingest.
MAX_JSON_DEPTH = 64

# Answer budget of a request that sets neither max_completion_tokens nor max_tokens.
DEFAULT_MAX_TOKENS = 1024
# A request is only sent when at least this much of its answer budget fits the context
# window next to its prompt (or all of it, when it asked for less).
MIN_ANSWER_TOKENS = 256
# Chat-template overhead per message, in characters (about 8 tokens at 3 per token).
MESSAGE_CHARS = 24

Role = Literal["assistant", "developer", "system", "tool", "user"]
ROLES = get_args(Role)
# Request fields whose meaning would be lost if they were ignored: refused at validation.
# (tool_choice / function_call alone mean nothing without tools, and are passed over.)
UNSUPPORTED_FIELDS = {
    "tools": "tool calling is not supported",
    "functions": "function calling is not supported",
    "logprobs": "logprobs are not supported",
    "top_logprobs": "logprobs are not supported",
    "audio": "audio output is not supported",
    "prediction": "predicted outputs are not supported",
    "logit_bias": "logit_bias is not supported",
}

# Item.error texts written here, recognised again when the error file is written.
IMAGES_UNSUPPORTED = "image inputs are not supported"
TOO_LONG_MARK = "does not fit the context window"

# The code of a batch line's or a chat body's field that breaks a rule (OpenAI's batch
# validation codes); the create-batch door has none, as OpenAI's.
INVALID_BODY = "invalid_body"


# --- JSON from users ------------------------------------------------------------------------


class JsonTooDeep(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH: refused like any malformed JSON."""


def load_json(raw: bytes | str) -> Any:
    """json.loads for what a user sent: a batch line or a request body.

    Raises ValueError (json.JSONDecodeError, UnicodeDecodeError, JsonTooDeep), never
    RecursionError.
    """
    too_deep = JsonTooDeep(
        f"it is nested more than {MAX_JSON_DEPTH} levels deep, far deeper than a chat request needs"
    )
    try:
        value = json.loads(raw)
    except RecursionError:
        raise too_deep from None
    # Iterative, so that checking the depth cannot recurse either.
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise too_deep
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return value


def json_reason(exc: ValueError) -> str:
    """Why load_json refused a text, in a few words."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    return str(exc)


def json_type(value: Any) -> str:
    return {list: "array", dict: "object", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def show(value: Any) -> str:
    return "missing" if value is None else json.dumps(value, ensure_ascii=False)


def clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- OpenAI's error -------------------------------------------------------------------------


class RequestProblem(BadRequest):
    """Why one request (a batch line, a create-batch body, or a body for
    /v1/chat/completions) cannot run: OpenAI's error, with its code and the offending
    field (`param`)."""

    type = "invalid_request_error"

    def __init__(self, code: str | None, message: str, param: str | None = None):
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


def _refuse(reason: str, code: str | None = INVALID_BODY) -> PydanticCustomError:
    # The reason travels as context, not as the template: reasons quote JSON, whose braces
    # pydantic would take for placeholders.
    return PydanticCustomError("openai", "{reason}", {"reason": reason, "code": code})


def _explain(
    reason: str | Callable[[Any], str], code: str | None = INVALID_BODY, *, whole: bool = True
) -> WrapValidator:
    """Pydantic checks the value; the client reads this one reason instead of its findings.

    With whole=False only a problem of the value itself is reworded (a list that is not a
    list); problems inside it (messages[2].role) keep their own place and words.
    """

    def check(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            errors = exc.errors()
            if errors[0]["type"] == "openai" and errors[0]["loc"] == ():
                raise  # a rule of ours inside already said it
            if whole or any(not e["loc"] for e in errors):
                raise _refuse(reason(value) if callable(reason) else reason, code) from None
            raise

    return WrapValidator(check)


def param_of(loc: tuple[int | str, ...]) -> str | None:
    """pydantic's loc as OpenAI writes a param: ("messages", 0, "role") → messages[0].role."""
    param = ""
    for part in loc:
        param += f"[{part}]" if isinstance(part, int) else (f".{part}" if param else str(part))
    return param or None


def openai_error(error: ValidationError, *, code: str | None) -> RequestProblem:
    """OpenAI's error for the first problem pydantic found (fields are checked in the order
    the models declare them, so it is the one a person reads first).

    `code` is the door's code for problems without one of their own (`invalid_body` for a
    batch line or a chat body, none for a create-batch body).
    """
    first = error.errors(include_url=False)[0]
    param = param_of(first["loc"])
    shown = param or "the request"
    if first["type"] == "openai":
        context = first.get("ctx") or {}
        return RequestProblem(context["code"], f"Invalid '{shown}': {context['reason']}", param)
    if first["type"] == "missing":
        return RequestProblem(code, f"Missing required parameter: '{shown}'.", param)
    if first["type"] in ("model_type", "dict_type", "model_attributes_type"):
        found = json_type(first["input"])
        return RequestProblem(code, f"Invalid '{shown}': must be an object, not a {found}.", param)
    return RequestProblem(code, f"Invalid '{shown}': {first['msg']}.", param)


Model = TypeVar("Model", bound="_Body")


def validate(model: type[Model], data: Any, *, code: str | None, **context: Any) -> Model:
    """model.model_validate(data), raising OpenAI's error (RequestProblem) when invalid."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise openai_error(exc, code=code) from None


# --- The bodies -----------------------------------------------------------------------------


class _Body(BaseModel):
    # Strict: a JSON string is not a number, nor `true` a 1. Fields not declared here are
    # kept and passed over (OpenAI adds fields faster than any server follows).
    model_config = ConfigDict(extra="allow", strict=True)


def _number(low: float, high: float) -> Any:
    return Annotated[
        Annotated[float, Field(ge=low, le=high, allow_inf_nan=False)] | None,
        _explain(f"must be a number from {low:g} to {high:g}."),
    ]


Temperature = _number(0.0, 2.0)
TopP = _number(0.0, 1.0)
Penalty = _number(-2.0, 2.0)
AnswerTokens = Annotated[
    Annotated[int, Field(ge=1)] | None, _explain("must be a positive integer.")
]
# Ollama reads a seed as a 64-bit integer: a larger one would fail at the server instead.
Seed = Annotated[
    Annotated[int, Field(ge=-(2**63), le=2**63 - 1)] | None,
    _explain("must be an integer from -9223372036854775808 to 9223372036854775807."),
]


def _text_as_part(content: Any) -> Any:
    """A string content is one text part: both shapes are then checked and mapped alike."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if content is None or isinstance(content, list):
        return content
    raise _refuse(f"must be a string or a list of content parts, not a {json_type(content)}.")


class ContentPart(_Body):
    type: str
    text: str | None = Field(None, validate_default=True)
    refusal: str | None = None

    @field_validator("text")
    @classmethod
    def _text_of_a_text_part(cls, text: str | None, info: ValidationInfo) -> str | None:
        if text is None and info.data.get("type") == "text":
            raise _refuse('a text part needs a "text" string.')
        return text


class ChatMessage(_Body):
    role: Annotated[
        Role,
        _explain(lambda role: f"{clip(show(role))} is not a role; use one of {', '.join(ROLES)}."),
    ]
    # Validated when missing too: only an assistant's message may have no content.
    content: Annotated[list[ContentPart] | None, BeforeValidator(_text_as_part)] = Field(
        None, validate_default=True
    )

    @field_validator("content")
    @classmethod
    def _content_unless_assistant(
        cls, content: list[ContentPart] | None, info: ValidationInfo
    ) -> list[ContentPart] | None:
        if content is None and info.data.get("role", "assistant") != "assistant":
            raise _refuse(
                "must be a string or a list of content parts (only an assistant may send none)."
            )
        return content

    @property
    def text_chars(self) -> int:
        return sum(len(p.text or "") for p in self.content or () if p.type == "text")


_JSON_SCHEMA_NEEDED = 'type json_schema needs "json_schema": {"schema": {…}}.'


class JsonSchemaSpec(_Body):
    schema_: dict[str, Any] = Field(alias="schema")


class ResponseFormat(_Body):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaSpec | None = Field(None, validate_default=True)

    @field_validator("json_schema")
    @classmethod
    def _schema_for_json_schema(
        cls, spec: JsonSchemaSpec | None, info: ValidationInfo
    ) -> JsonSchemaSpec | None:
        if spec is None and info.data.get("type") == "json_schema":
            raise _refuse(_JSON_SCHEMA_NEEDED)
        return spec


def _response_format_reason(value: Any) -> str:
    if isinstance(value, dict) and value.get("type") == "json_schema":
        return _JSON_SCHEMA_NEEDED
    return (
        'must be {"type": "text"}, {"type": "json_object"} or '
        '{"type": "json_schema", "json_schema": {…}}.'
    )


def _model_named(value: Any, handler: Callable[[Any], Any]) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise _refuse(
            "name the model to use, as a string (the same on every line of a batch).",
            "missing_model",
        )
    return handler(value)


class ChatCompletionBody(_Body):
    """The body of POST /v1/chat/completions, and of each line of a batch.

    Fields are declared in the order they are checked: the first problem is the one
    reported.
    """

    # Validated when missing too, so that a missing model has its own code.
    model: Annotated[str, WrapValidator(_model_named)] = Field(None, validate_default=True)
    messages: Annotated[
        list[ChatMessage],
        Field(min_length=1),
        _explain('must be a non-empty list of {"role", "content"} objects.', whole=False),
    ]
    tools: Any = None
    functions: Any = None
    logprobs: Any = None
    top_logprobs: Any = None
    audio: Any = None
    prediction: Any = None
    logit_bias: Any = None
    n: Annotated[
        Annotated[int, Field(ge=1, le=1)] | None,
        _explain(lambda n: f"{show(n)}; only one completion per request (n = 1)."),
    ] = None
    stream: Annotated[
        Literal[False] | None, _explain("true is not supported; send false or leave it out.")
    ] = None
    modalities: Annotated[
        Annotated[list[Literal["text"]], Field(min_length=1, max_length=1)] | None,
        _explain('only text output is supported (modalities ["text"]).'),
    ] = None
    temperature: Temperature = None
    top_p: TopP = None
    frequency_penalty: Penalty = None
    presence_penalty: Penalty = None
    seed: Seed = None
    stop: Annotated[
        str | Annotated[list[str], Field(max_length=4)] | None,
        _explain("must be a string or a list of up to 4 strings."),
    ] = None
    max_completion_tokens: AnswerTokens = None
    max_tokens: AnswerTokens = None
    response_format: Annotated[ResponseFormat | None, _explain(_response_format_reason)] = None

    @field_validator(*UNSUPPORTED_FIELDS)
    @classmethod
    def _refused(cls, value: Any, info: ValidationInfo) -> Any:
        # An empty or false value asks for nothing: passed over.
        if value is None or value is False or value == [] or value == {}:
            return value
        raise _refuse(f"{UNSUPPORTED_FIELDS[str(info.field_name)]}.")

    @property
    def answer_tokens(self) -> int | None:
        """The answer budget asked for (max_completion_tokens wins over max_tokens)."""
        if self.max_completion_tokens is not None:
            return self.max_completion_tokens
        return self.max_tokens

    @property
    def answer_tokens_field(self) -> str:
        return "max_completion_tokens" if self.max_completion_tokens is not None else "max_tokens"

    @property
    def text_chars(self) -> int:
        return sum(m.text_chars for m in self.messages)


def _custom_id(value: Any, handler: Callable[[Any], Any]) -> Any:
    if value is None or value == "":
        raise _refuse(
            "missing; each request needs a unique custom_id string to match its result.",
            "missing_custom_id",
        )
    if not isinstance(value, str):
        reason = f"must be a string, not a {json_type(value)}."
        raise _refuse(reason, "invalid_custom_id")
    if len(value) > CUSTOM_ID_MAX:
        reason = f"it is {len(value)} characters long; at most {CUSTOM_ID_MAX} are allowed."
        raise _refuse(reason, "invalid_custom_id")
    return handler(value)


class BatchLine(_Body):
    """One line of a batch input file: validate it with context endpoint=the batch's."""

    # Validated when missing too, so that each has its own code.
    custom_id: Annotated[str, WrapValidator(_custom_id)] = Field(None, validate_default=True)
    method: Annotated[
        Literal["POST"],
        _explain(lambda method: f'must be "POST", not {clip(show(method))}.', "invalid_method"),
    ] = Field(None, validate_default=True)
    url: str = Field(None, validate_default=True)
    body: ChatCompletionBody

    @field_validator("url", mode="plain")
    @classmethod
    def _the_batch_endpoint(cls, url: Any, info: ValidationInfo) -> str:
        endpoint = (info.context or {}).get("endpoint", CHAT_COMPLETIONS)
        if url != endpoint:
            raise _refuse(
                f"{clip(show(url))} does not match the batch's endpoint {endpoint}; every "
                "request of the batch must use it.",
                "mismatched_url",
            )
        return url


class BatchCreateBody(_Body):
    """The body of POST /v1/batches."""

    input_file_id: Annotated[str, Field(min_length=1)]
    endpoint: Annotated[
        Endpoint,
        _explain(
            lambda endpoint: (
                f"{clip(show(endpoint))} is not supported; the supported endpoint is "
                f"{', '.join(SUPPORTED_ENDPOINTS)}."
            ),
            None,
        ),
    ]
    completion_window: Annotated[
        CompletionWindow,
        _explain(
            lambda window: (
                f"{clip(show(window))} is not supported; use "
                f"{', '.join(repr(w) for w in COMPLETION_WINDOWS)}."
            ),
            None,
        ),
    ]
    metadata: Annotated[
        Annotated[
            dict[
                Annotated[str, Field(max_length=METADATA_KEY_MAX)],
                Annotated[str, Field(max_length=METADATA_VALUE_MAX)],
            ],
            Field(max_length=METADATA_MAX_PAIRS),
        ]
        | None,
        _explain(
            f"must be an object of at most {METADATA_MAX_PAIRS} keys of at most "
            f"{METADATA_KEY_MAX} characters, with string values of at most "
            f"{METADATA_VALUE_MAX} characters.",
            None,
        ),
    ] = None


# --- One chat body, as the sync door checks it ----------------------------------------------


class Unsupported(Exception):
    """An input only other models take (images, audio): the request cannot be sent."""


def body_problem(body: Any) -> RequestProblem | None:
    """What is wrong with one chat.completions body, or None when it can run.

    The same rules as a batch line's body, plus the inputs only text models can take
    (which a batch finds per request, when it runs). `param` names the field within the
    body ("messages[0].role").
    """
    try:
        ollama_messages(validate(ChatCompletionBody, body, code=INVALID_BODY))
    except RequestProblem as problem:
        return problem
    except Unsupported as exc:
        return RequestProblem("unsupported_input", str(exc), "messages")
    return None


def answer_budget_problem(
    body: ChatCompletionBody, *, model: str, context_length: int | None
) -> RequestProblem | None:
    """An answer budget no request to this model can have (beyond its context length)."""
    wanted = body.answer_tokens
    if not context_length or wanted is None or wanted <= context_length:
        return None
    field = body.answer_tokens_field
    return RequestProblem(
        "invalid_value",
        f"{field} is {wanted}, but the model {clip(model)} holds at most {context_length} "
        f"tokens (its context length), prompt and answer together; ask for fewer.",
        field,
    )


# --- Mapping a chat.completions body onto Ollama ------------------------------------------


@dataclass
class Prepared:
    messages: list[dict[str, str]]
    prompt_tokens: int  # estimated, conservatively
    num_predict: int  # 0: the prompt leaves too little room for an answer


def ollama_messages(body: ChatCompletionBody) -> list[dict[str, str]]:
    """Ollama's messages (text only) for a body; raises Unsupported for other inputs."""
    return [_ollama_message(m) for m in body.messages]


def system_texts(body: ChatCompletionBody) -> list[str]:
    """The texts of the system (or developer) messages that open a body, as Ollama gets
    them: the prompt prefix that bodies with the same instructions share ([]: none).

    A system message after the conversation started is not part of that prefix, and
    other parts than text (which the request would be refused for) are passed over."""
    texts = []
    for message in body.messages:
        if message.role not in ("system", "developer"):
            break
        parts = message.content or ()
        texts.append(
            "\n".join(
                (part.text or "") if part.type == "text" else (part.refusal or "")
                for part in parts
                if part.type in ("text", "refusal")
            )
        )
    return texts


def _ollama_message(message: ChatMessage) -> dict[str, str]:
    role = message.role
    if role == "developer":  # OpenAI's newer name for system instructions
        role = "system"
    texts = []
    for part in message.content or ():
        if part.type == "text":
            texts.append(part.text or "")
        elif part.type in ("image_url", "image", "input_image"):
            raise Unsupported(
                f"{IMAGES_UNSUPPORTED}: hrbatch sends text only to the model, and this "
                "request has an image part."
            )
        elif part.type == "refusal":
            texts.append(part.refusal or "")
        else:
            raise Unsupported(
                f"{part.type} inputs are not supported: hrbatch sends text only to the model."
            )
    return {"role": role, "content": "\n".join(texts)}


def prepare(body: ChatCompletionBody, *, num_ctx: int, default_max_tokens: int) -> Prepared:
    """Ollama messages and answer budget for one body (raises Unsupported)."""
    return fit(ollama_messages(body), body.answer_tokens or default_max_tokens, num_ctx)


def fit(messages: list[dict[str, str]], wanted: int, num_ctx: int) -> Prepared:
    prompt = prompt_tokens(sum(len(m["content"]) for m in messages), len(messages))
    room = num_ctx - prompt
    # Less room than asked for: the answer may stop early (finish_reason "length"), but the
    # prompt is never cut. Too little room: the request is not sent at all.
    num_predict = min(wanted, room) if room >= min(wanted, MIN_ANSWER_TOKENS) else 0
    return Prepared(messages, prompt, num_predict)


def prompt_tokens(chars: int, messages: int) -> int:
    """The same estimate that sizes num_ctx (batch_num_ctx, prompting.size_num_ctx)."""
    tokens = prompting.estimate_tokens(chars + MESSAGE_CHARS * messages)
    return tokens + 2 * prompting.MESSAGE_OVERHEAD_TOKENS


def batch_num_ctx(
    *,
    longest_chars: int,
    max_messages: int,
    max_tokens: int,
    cap: int,
    model_context: int | None,
) -> int:
    """num_ctx for a whole batch (services.runs.run_start).

    One num_ctx per run (Ollama reloads the model whenever it changes), sized to hold
    the longest prompt of the file plus the largest answer budget asked for; capped by
    HRBATCH_MAX_NUM_CTX (`cap`) and the model's own context length.
    """
    return prompting.size_num_ctx(
        prompt_chars=longest_chars + MESSAGE_CHARS * max_messages,
        num_predict=max_tokens,
        cap=cap,
        model_context=model_context,
    )


def too_long_message(num_ctx: int, prepared: Prepared) -> str:
    return (
        f"The request {TOO_LONG_MARK} of {num_ctx} tokens (its prompt is about "
        f"{prepared.prompt_tokens} tokens); it was not sent rather than silently cut. "
        "Shorten the messages or raise HRBATCH_MAX_NUM_CTX."
    )


def cut_message(num_ctx: int, answer: ChatResult) -> str | None:
    """Why an answer cannot be trusted because the server ran out of context, or None."""
    if answer.prompt_tokens < num_ctx and (
        answer.prompt_tokens + answer.completion_tokens <= num_ctx
    ):
        return None
    return (
        f"The request {TOO_LONG_MARK} of {num_ctx} tokens: the prompt used "
        f"{answer.prompt_tokens} tokens and the answer {answer.completion_tokens}, so the "
        "server may have cut it; not returned. Shorten the messages or raise "
        "HRBATCH_MAX_NUM_CTX."
    )


def chat_request(
    body: ChatCompletionBody,
    prepared: Prepared,
    *,
    model: str,
    num_ctx: int,
    keep_alive: str | None,
) -> ChatRequest:
    """The backend request for one body: OpenAI's parameters as Ollama's options."""
    options: dict[str, Any] = {
        # OpenAI samples at 1.0 when the request says nothing: so do we.
        "temperature": 1.0 if body.temperature is None else body.temperature,
        "num_ctx": num_ctx,
        "num_predict": prepared.num_predict,
    }
    for field in ("top_p", "seed", "frequency_penalty", "presence_penalty"):
        value = getattr(body, field)
        if value is not None:
            options[field] = value
    if body.stop:
        options["stop"] = [body.stop] if isinstance(body.stop, str) else list(body.stop)
    return ChatRequest(
        model=model,
        messages=prepared.messages,
        format=_ollama_format(body.response_format),
        options=options,
        keep_alive=keep_alive,
    )


def _ollama_format(response_format: ResponseFormat | None) -> dict[str, Any] | str | None:
    if response_format is None:
        return None
    if response_format.type == "json_object":
        return "json"
    if response_format.type == "json_schema" and response_format.json_schema is not None:
        return response_format.json_schema.schema_
    return None


def chat_completion(answer: ChatResult, *, model: str, fingerprint: str) -> dict[str, Any]:
    """An OpenAI chat.completion object for one answer."""
    usage: dict[str, Any] = {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    }
    if answer.cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": answer.cached_tokens}
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.content, "refusal": None},
                "logprobs": None,
                "finish_reason": "length" if answer.done_reason == "length" else "stop",
            }
        ],
        "usage": usage,
        "system_fingerprint": fingerprint,
    }


def completion_content(completion: dict[str, Any]) -> str | None:
    """The answer's text of a chat.completion object (chat_completion), or None."""
    choices = completion.get("choices") or [{}]
    return (choices[0].get("message") or {}).get("content")


def fingerprint(digest: str) -> str:
    """OpenAI's system_fingerprint: the model digest's head, when the backend gives one."""
    return "fp_" + (digest[:10] if digest else "hrbatch")
