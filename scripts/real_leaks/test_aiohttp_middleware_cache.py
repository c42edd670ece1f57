"""aiohttp 3.10.10 caches the middleware chain built for every "not found" answer.

The cache of middleware chains has no bound, and a request that matches no
route gets a new handler each time, so each such request through an app
with a middleware adds an entry that keeps the handler and the app alive.
The server and the client run on 127.0.0.1 within the test.
"""

import asyncio
import unittest
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer


@web.middleware
async def served_by(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    response.headers["X-Served-By"] = "test"
    return response


async def fetch_missing_page() -> int:
    app = web.Application(middlewares=[served_by])
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get("/no-such-page")
        return response.status


class AiohttpNotFoundTest(unittest.TestCase):
    def test_missing_page_through_middleware(self) -> None:
        status = asyncio.run(fetch_missing_page())  # LEAK
        self.assertEqual(status, 404)


if __name__ == "__main__":
    unittest.main()
