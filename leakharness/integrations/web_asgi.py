"""``asgi_cycle(app, requests)``: a cycle that sends requests to an ASGI app in-process.

The requests go through httpx's ASGI transport (the ``web`` extra). The cycle
is a coroutine function, so the harness runs it on its event loop, one loop
for the whole examination, as a server keeps one: a task that a request
starts and never ends stays pending between cycles, is counted among the
asyncio tasks, and is named with the line that created it. ``concurrency``
tasks share each cycle's requests and all end with it.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from leakharness.integrations.web import WebCycle
from leakharness.integrations.web_requests import Expect, Request, Requests, check_response, require


class AsgiCycle(WebCycle):
    """One await sends every request once; see ``asgi_cycle``."""

    kind = "asgi_cycle"

    def __init__(
        self, app: Any, requests: Requests, concurrency: int, expect: Expect | None, name: str | None
    ) -> None:
        super().__init__(app, requests, concurrency, expect, name)
        self._httpx = require("httpx", self.kind)

    async def __call__(self) -> None:
        await self._round(self.requests())

    async def _round(self, requests: tuple[Request, ...]) -> None:
        import asyncio

        httpx = self._httpx
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", trust_env=False
        ) as client:
            pending = deque(requests)
            failed: list[BaseException] = []

            async def work() -> None:
                while pending and not failed:
                    try:
                        await self._send(client, pending.popleft())
                    except BaseException as err:  # raised below, once every task ended
                        failed.append(err)

            await asyncio.gather(*(work() for _ in range(min(self.concurrency, len(requests)))))
            if failed:
                raise failed[0]

    async def _send(self, client: Any, request: Request) -> None:
        response = await client.request(
            request.method, request.path, content=request.body, json=request.json, headers=request.headers
        )
        check_response(request, response.status_code, lambda: str(response.text), response, self.expect)


def asgi_cycle(
    app: Any,
    requests: Requests,
    *,
    concurrency: int = 1,
    expect: Expect | None = None,
    name: str | None = None,
) -> AsgiCycle:
    """A cycle that sends ``requests`` to the ASGI ``app`` in-process.

    The arguments are those of ``wsgi_cycle``; ``concurrency`` tasks send the
    requests at a time. The cycle is awaitable (``await cycle()``): pass it to
    ``check``, ``assertNoLeaks`` or, inside an async test,
    ``assertNoLeaksAsync``. The app's lifespan events are not sent.
    """
    return AsgiCycle(app, requests, concurrency, expect, name)
