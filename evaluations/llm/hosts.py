"""Several servers behind one backend: each request goes to the least busy one that is up.

Used by every server backend (Ollama hosts, OpenAI-compatible base URLs): a machine that is
down is not an outage while another one answers; only when none answers is the server
unreachable.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from typing import TypeVar

from .base import Unreachable

T = TypeVar("T")

# A server that did not answer is skipped for this long before it is tried again.
DOWN_SECONDS = 5.0


class HostPool:
    def __init__(self, hosts: list[str]):
        if not hosts:
            raise ValueError("at least one host")
        self.hosts = hosts
        self.in_flight = dict.fromkeys(hosts, 0)
        self._down_until = dict.fromkeys(hosts, 0.0)

    def pick(self, tried: Collection[str] = ()) -> str:
        """The least busy host that is not known to be down."""
        now = time.monotonic()
        untried = [h for h in self.hosts if h not in tried] or self.hosts
        up = [h for h in untried if self._down_until[h] <= now] or untried
        return min(up, key=lambda h: self.in_flight[h])

    async def call(
        self,
        send: Callable[[str], Awaitable[T]],
        *,
        none_answered: Callable[[list[str]], Unreachable],
    ) -> T:
        """`send(host)` on the least busy host; on Unreachable, the next one, until every
        host has been tried. `none_answered(hosts)` is the error when there are several."""
        tried: set[str] = set()
        while True:
            host = self.pick(tried)
            self.in_flight[host] += 1
            try:
                result = await send(host)
            except Unreachable as exc:
                self._down_until[host] = time.monotonic() + DOWN_SECONDS
                tried.add(host)
                if len(tried) >= len(self.hosts):
                    if len(self.hosts) > 1:
                        raise none_answered(self.hosts) from exc
                    raise
                continue
            finally:
                self.in_flight[host] -= 1
            self._down_until[host] = 0.0
            return result
