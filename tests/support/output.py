"""A subprocess's output read while it runs, so a test acts on what a person would see."""

from __future__ import annotations

import os
import signal
import subprocess
import threading


class Output:
    """The lines a process printed so far (stdout, with stderr merged into it)."""

    def __init__(self, process: subprocess.Popen[str]):
        self.process = process
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def finish(self, timeout: float = 120) -> str:
        """All of the output once the process has ended (killed, with its process group,
        if it has not ended within `timeout` seconds)."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._thread.join(timeout=10)
        return self.text
