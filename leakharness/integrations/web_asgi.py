"""``asgi_cycle(app, requests)``: a cycle that sends requests to an ASGI app in-process.

The requests go through httpx's ASGI transport (the ``web`` extra). The app
runs on one event loop, in one thread, for the cycle's whole life, as it
would in a server: a task a request starts and never ends stays pending
between cycles and is seen growing. ``concurrency`` tasks share each cycle's
requests and all end with it. The loop stops, its tasks cancelled, when the
cycle is closed (``close()``, a ``with`` block) or garbage collected.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from leakharness.integrations.web import WebCycle
from leakharness.integrations.web_requests import Expect, Request, Requests, check_response, require

if TYPE_CHECKING:
    import asyncio  # at run time imported by the first cycle: 10 ms that `import leakharness` spares

STOP_SECONDS = 10.0  # at most this long to cancel the app's tasks when the loop stops


class _LoopThread:
    """An event loop running in a daemon thread until ``stop()``."""

    def __init__(self) -> None:
        import asyncio

        self.loop: asyncio.AbstractEventLoop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="leakharness-asgi", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        try:
            self.run(_cancel_tasks())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join()
            self.loop.close()


async def _cancel_tasks() -> None:
    import asyncio

    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), STOP_SECONDS)
    await asyncio.get_running_loop().shutdown_asyncgens()


class AsgiCycle(WebCycle):
    """One call sends every request once; see ``asgi_cycle``."""

    kind = "asgi_cycle"

    def __init__(
        self, app: Any, requests: Requests, concurrency: int, expect: Expect | None, name: str | None
    ) -> None:
        super().__init__(app, requests, concurrency, expect, name)
        self._httpx = require("httpx", self.kind)
        self._loop: _LoopThread | None = None
        self._stop: weakref.finalize[Any, Any] | None = None

    def __call__(self) -> None:
        if self._loop is None:  # on the first (warm-up) cycle: its thread is there before the baseline
            self._loop = _LoopThread()
            self._stop = weakref.finalize(self, self._loop.stop)
        self._loop.run(self._round(self.requests()))

    def close(self) -> None:
        """Cancel the app's pending tasks and stop the loop."""
        if self._stop is not None:
            self._stop()
        self._loop = self._stop = None

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
    requests at a time. The app's lifespan events are not sent. The cycle
    keeps an event loop running for as long as it lives: use it in a ``with``
    block, or ``close()`` it, to stop the loop at once.
    """
    return AsgiCycle(app, requests, concurrency, expect, name)
