"""``wsgi_cycle(app, requests)``: a cycle that sends requests to a WSGI app in-process.

The requests go through werkzeug's test client (the ``web`` extra), so no
socket is opened and the lines a report names are in the app's code. With
``concurrency`` above 1, that many threads share the cycle's requests and are
joined before the cycle ends: nothing they started outlives it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from leakharness.errors import LeakHarnessError
from leakharness.integrations.web_requests import (
    Expect,
    Request,
    Requests,
    RequestSource,
    app_name,
    check_concurrency,
    check_expect,
    check_response,
    join_all,
    require,
)


class WebCycle:
    """What both web cycles share: the requests, the concurrency, the check."""

    kind = "web_cycle"

    def __init__(
        self, app: Any, requests: Requests, concurrency: int, expect: Expect | None, name: str | None
    ) -> None:
        if not callable(app):
            raise LeakHarnessError(f"{self.kind} needs an application callable (got {app!r})")
        self.app = app
        self.requests = RequestSource(requests)
        self.concurrency = check_concurrency(concurrency)
        self.expect = check_expect(expect)
        # check() and the reports name a cycle by these two
        self.__qualname__ = name or app_name(app, self.requests, self.kind)
        self.__module__ = ""

    def __repr__(self) -> str:
        return f"<{self.__qualname__} concurrency={self.concurrency}>"


class WsgiCycle(WebCycle):
    """One call sends every request once; see ``wsgi_cycle``."""

    kind = "wsgi_cycle"

    def __init__(
        self, app: Any, requests: Requests, concurrency: int, expect: Expect | None, name: str | None
    ) -> None:
        super().__init__(app, requests, concurrency, expect, name)
        client_type = require("werkzeug.test", self.kind).Client
        self._client = client_type(app, use_cookies=False)  # each request stands alone

    def __call__(self) -> None:
        requests = self.requests()
        if self.concurrency == 1:
            for request in requests:
                self.send(request)
        else:
            run_in_threads(self.send, requests, self.concurrency)

    def send(self, request: Request) -> None:
        response = self._client.open(
            request.path,
            method=request.method,
            data=request.body,
            json=request.json,
            headers=list(request.headers),
            multithread=self.concurrency > 1,
        )
        try:
            body = response.get_data()
            check_response(
                request, response.status_code, lambda: body.decode("utf-8", "replace"), response, self.expect
            )
        finally:
            response.close()


def run_in_threads(send: Callable[[Request], None], requests: tuple[Request, ...], concurrency: int) -> None:
    """Send ``requests`` from ``concurrency`` threads, join them all, and raise
    the first error any of them met."""
    pending = deque(requests)
    errors: list[BaseException] = []

    def work() -> None:
        while not errors:
            try:
                request = pending.popleft()
            except IndexError:
                return
            try:
                send(request)
            except BaseException as err:  # handed to the cycle's caller below
                errors.append(err)

    join_all([work] * min(concurrency, len(requests)), "leakharness-web", errors)


def wsgi_cycle(
    app: Any,
    requests: Requests,
    *,
    concurrency: int = 1,
    expect: Expect | None = None,
    name: str | None = None,
) -> WsgiCycle:
    """A cycle that sends ``requests`` to the WSGI ``app`` in-process.

    ``requests`` is a list of ``(method, path)`` tuples, ``(method, path,
    payload)`` tuples (bytes or str payload: the body; anything else: JSON)
    or ``Request`` values, or a callable returning such a list each cycle.
    ``concurrency`` threads send them at a time. A response status of 500 or
    more raises ResponseError (an error of the test, never a leak);
    ``expect(response) -> bool`` refuses more. ``name`` names the report.
    Pass the result to ``check``, ``assertNoLeaks`` or a ``no_leaks`` test.
    """
    return WsgiCycle(app, requests, concurrency, expect, name)
