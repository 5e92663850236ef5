"""What every service module shares: the error a door shows to the person."""

from __future__ import annotations


class InputError(Exception):
    """The caller asked for something impossible; `message` says what to change."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
