"""The exact text of an answer, as a grammar with no room for whitespace.

A JSON schema leaves whitespace to the server. llama.cpp's converter (llama-server, and
Ollama, which vendors it) lets up to 22 spaces, tabs and newlines stand at every place JSON
allows them (`space ::= | " " | "\\n"{1,2} [ \\t]{0,20}`): a small model can spend its whole
token cap on them between two scores, and the answer is cut off. llama-cpp-python's
converter allows one space (`" "?`); vLLM's xgrammar any amount unless the server is
started with `disable_any_whitespace`.

Where the server takes a grammar (llama.cpp's GBNF: llama-server's `grammar` field,
llama-cpp-python's server and its Llama class), hrbatch sends this one instead: the answer's
JSON written compactly, `[7,6,8,5,7]`, every score one of 1..10, nothing else. The same
shape is rendered as a regular expression, which says in tests (and in `matches`) what the
grammar admits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

# What llama.cpp's JSON-schema converter lets stand at each place JSON allows whitespace:
# one or two newlines and up to 20 spaces or tabs (common/json-schema-to-grammar.cpp,
# SPACE_RULE, also in the llama.cpp that Ollama vendors).
SCHEMA_WHITESPACE_CHARS = 22

# The building blocks: a literal, one score (1..10), or a JSON string of free text.
SCORE = ("score",)


@dataclass(frozen=True)
class Text:
    max_chars: int


Part = str | tuple[str] | Text


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _gbnf(part: Part) -> str:
    if isinstance(part, str):
        return _gbnf_literal(part)
    if isinstance(part, Text):
        return f'"\\"" char{{0,{part.max_chars}}} "\\""'
    return "score"


_REGEX_CHAR = r'(?:[^"\\\x00-\x1f\x7f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))'


def _regex(part: Part) -> str:
    if isinstance(part, str):
        return re.escape(part)
    if isinstance(part, Text):
        return f'"{_REGEX_CHAR}{{0,{part.max_chars}}}"'
    return "(?:10|[1-9])"


def _merge(parts: Sequence[Part]) -> list[Part]:
    """Adjacent literals joined (a shorter grammar)."""
    merged: list[Part] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + part
        else:
            merged.append(part)
    return merged


@dataclass(frozen=True)
class AnswerGrammar:
    parts: tuple[Part, ...]

    @property
    def gbnf(self) -> str:
        """llama.cpp's GBNF: `root` is the whole answer."""
        rules = ["root ::= " + " ".join(_gbnf(p) for p in self.parts)]
        if any(p == SCORE for p in self.parts):
            rules.append('score ::= "10" | [1-9]')
        if any(isinstance(p, Text) for p in self.parts):
            rules.append(
                'char ::= [^"\\\\\\x7F\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4})'
            )
        return "\n".join(rules) + "\n"

    @property
    def regex(self) -> str:
        return "".join(_regex(p) for p in self.parts)

    def matches(self, text: str) -> bool:
        return re.fullmatch(self.regex, text) is not None


def _one(
    criteria: Sequence[str], rationale: bool, answer_format: str, max_chars: int
) -> list[Part]:
    """One candidate's answer in `answer_format` (prompting.FORMAT_*)."""
    if answer_format == "keyed":
        parts: list[Part] = ["{"]
        for i, key in enumerate(criteria):
            parts += [("," if i else "") + json.dumps(key) + ":", SCORE]
        if rationale:
            parts += [',"rationale":', Text(max_chars)]
        return [*parts, "}"]
    if answer_format == "array":
        parts = ["["]
        for i, _ in enumerate(criteria):
            parts += [","] if i else []
            parts.append(SCORE)
        if rationale:
            parts += [",", Text(max_chars)]
        return [*parts, "]"]
    # compact: "7,6,8,5,7", or with a rationale ["7,6,8,5,7","…"]
    parts = ['"']
    for i, _ in enumerate(criteria):
        parts += [","] if i else []
        parts.append(SCORE)
    parts.append('"')
    if rationale:
        parts = ["[", *parts, ",", Text(max_chars), "]"]
    return parts


def answer_grammar(
    criteria: Sequence[str],
    *,
    rationale: bool,
    answer_format: str,
    pack_size: int,
    count: int,
    max_chars: int,
) -> AnswerGrammar:
    """The answer to one request of `count` candidates, written without whitespace, in the
    order prompting.PromptPlan.parse reads it (packs: "candidate_i" keys, or an array)."""
    one = _one(criteria, rationale, answer_format, max_chars)
    if pack_size == 1:
        return AnswerGrammar(tuple(_merge(one)))
    parts: list[Part] = []
    if answer_format == "keyed":
        parts.append("{")
        for i in range(1, count + 1):
            parts += [("," if i > 1 else "") + f'"candidate_{i}":', *one]
        parts.append("}")
    else:
        parts.append("[")
        for i in range(count):
            parts += [","] if i else []
            parts += one
        parts.append("]")
    return AnswerGrammar(tuple(_merge(parts)))


# JSON's tokens in a compact answer: each may be followed by whitespace under a schema.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|[\[\]{}:,]|true|false|null')


def schema_whitespace_room(longest_compact: str) -> int:
    """The tokens a schema-constrained answer may spend on whitespace at most, under
    llama.cpp's converter: SCHEMA_WHITESPACE_CHARS after each of its JSON tokens (and
    before the first). Added to the token cap where the server takes only the schema, so
    that an answer padded with whitespace is slow but never cut off."""
    return SCHEMA_WHITESPACE_CHARS * (len(_JSON_TOKEN.findall(longest_compact)) + 1)


_PADDING = re.compile(r'"(?:[^"\\]|\\.)*"|(\s+)')


def padding(content: str) -> int:
    """The whitespace characters an answer holds outside its strings beyond single spaces
    (0 for `[7, 6, 8]` or `[7,6,8]`; a pretty-printed or padded answer counts them all)."""
    wasted = 0
    for match in _PADDING.finditer(content):
        run = match.group(1)
        if run and run != " ":
            wasted += len(run)
    return wasted
