"""A Starlette service that starts a task per request and never ends it, beside its fixed twin.

``/orders/{order_id}/track`` starts following an order's status, so that
updates can be pushed later. The leaky twin starts a new poller task on every
request and keeps it in ``_pollers``; each one loops until the server stops,
so a busy server piles up tasks, their coroutine frames and their timers.
The fixed twin keeps one poller per order: a repeated request finds the
running one, and a poller that ends takes itself out of ``_order_pollers``.

The tests send the requests in-process through ``leakharness.asgi_cycle``;
the harness runs them on one event loop for the whole examination, as a
server keeps one, so the pollers pile up there as they would in production.
"""

from __future__ import annotations

import asyncio
import unittest

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import leakharness

POLL_SECONDS = 30.0

_pollers: list[asyncio.Task[None]] = []
_order_pollers: dict[str, asyncio.Task[None]] = {}
_statuses: dict[str, str] = {}


async def poll(order_id: str) -> None:
    while True:
        _statuses[order_id] = "shipped"
        await asyncio.sleep(POLL_SECONDS)


async def track_leaky(request: Request) -> JSONResponse:
    order_id = request.path_params["order_id"]
    _pollers.append(asyncio.create_task(poll(order_id)))  # leak: a task per request that never ends
    return JSONResponse({"order": order_id, "tracking": True})


async def track(request: Request) -> JSONResponse:
    order_id = request.path_params["order_id"]
    if order_id not in _order_pollers:
        task = asyncio.create_task(poll(order_id))
        _order_pollers[order_id] = task
        task.add_done_callback(lambda _: _order_pollers.pop(order_id, None))
    return JSONResponse({"order": order_id, "tracking": True})


leaky_app = Starlette(routes=[Route("/orders/{order_id}/track", track_leaky, methods=["POST"])])
fixed_app = Starlette(routes=[Route("/orders/{order_id}/track", track, methods=["POST"])])
REQUESTS = [("POST", "/orders/A-17/track"), ("POST", "/orders/B-4/track")]


class StarletteAppTest(leakharness.LeakTestCase):
    def tearDown(self) -> None:
        _pollers.clear()  # their loop has stopped: they are cancelled

    def test_leaky_task_per_request(self) -> None:
        self.assertNoLeaks(leakharness.asgi_cycle(leaky_app, REQUESTS, concurrency=2))

    def test_fixed_one_task_per_order(self) -> None:
        self.assertNoLeaks(leakharness.asgi_cycle(fixed_app, REQUESTS, concurrency=2))


if __name__ == "__main__":
    unittest.main()
