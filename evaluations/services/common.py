"""What every service module shares: the error a door shows to the person, how a problem
of an input file is kept, and the errors of the layers below that services let through to
the doors (the LLM server's, a /v1 request body's), which a door answers in its own way."""

from __future__ import annotations

from typing import Any

from ..llm import BackendError, ModelNotFound
from ..openai_compat import RequestProblem

__all__ = ["BackendError", "InputError", "ModelNotFound", "RequestProblem", "input_problem"]


class InputError(Exception):
    """The caller asked for something impossible; `message` says what to change."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def input_problem(code: str, message: str, line: int | None = None, **more: Any) -> dict[str, Any]:
    """One problem of an input file as a run keeps it (`Run.errors`) and the API shows it:
    its code, what to change, the 1-based line or row it is on (None: the whole file),
    and what else the caller names (`param` for a /v1 batch line)."""
    return {"code": code, "message": message, "line": line, **more}
