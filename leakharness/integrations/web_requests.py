"""The requests a web cycle sends, the check of every response, and the
threads that send them at once.

Shared by ``wsgi_cycle``, ``asgi_cycle`` and the ``watch`` load; imports no
web framework.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from leakharness.errors import LeakHarnessError

WEB_EXTRA = "pip install 'leakharness[web]'"


class ResponseError(LeakHarnessError):
    """The app answered with a server error, or ``expect`` refused a response:
    an error of the test, never a leak verdict."""


@dataclass(frozen=True)
class Request:
    """One request of a cycle: ``Request("POST", "/orders", json={"id": 1})``.

    ``path`` is relative to the app (``/items?page=2``); ``body`` (bytes or
    text) and ``json`` exclude each other; ``headers`` is a mapping or pairs.
    """

    method: str
    path: str
    body: bytes | str | None = None
    json: Any = None
    headers: Mapping[str, str] | tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) or not self.method.strip().isalpha():
            raise LeakHarnessError(f"request method must be a word such as 'GET' (got {self.method!r})")
        object.__setattr__(self, "method", self.method.strip().upper())
        if not isinstance(self.path, str) or not self.path.startswith("/"):
            raise LeakHarnessError(f"request path must start with '/' (got {self.path!r})")
        if self.body is not None and not isinstance(self.body, (bytes, str)):
            raise LeakHarnessError(f"request body must be bytes or str (got {type(self.body).__name__})")
        if self.body is not None and self.json is not None:
            raise LeakHarnessError(f"{self}: give a body or json, not both")
        object.__setattr__(self, "headers", _header_pairs(self.headers))

    @classmethod
    def of(cls, value: RequestLike) -> Request:
        """A Request from itself, ``(method, path)``, or ``(method, path, payload)``
        where a bytes or str payload is the body and anything else is JSON."""
        if isinstance(value, Request):
            return value
        if isinstance(value, tuple) and len(value) == 2:
            return cls(value[0], value[1])
        if isinstance(value, tuple) and len(value) == 3:
            payload = value[2]
            if isinstance(payload, (bytes, str)):
                return cls(value[0], value[1], body=payload)
            return cls(value[0], value[1], json=payload)
        raise LeakHarnessError(
            f"a request must be a Request, (method, path) or (method, path, payload) (got {value!r})"
        )

    def __repr__(self) -> str:
        return f"{self.method} {self.path}"


RequestLike = Request | tuple[Any, ...]
Requests = Iterable[RequestLike] | Callable[[], Iterable[RequestLike]]
Expect = Callable[[Any], bool]


class RequestSource:
    """The requests of one cycle: a fixed list checked once, or a callable
    asked (and checked) every cycle."""

    def __init__(self, requests: Requests) -> None:
        if isinstance(requests, (str, bytes)) or not (callable(requests) or isinstance(requests, Iterable)):
            raise LeakHarnessError(f"requests must be a list of requests or a callable (got {requests!r})")
        self._make = requests if callable(requests) else None
        self._fixed = () if callable(requests) else _requests(requests)

    def __call__(self) -> tuple[Request, ...]:
        if self._make is None:
            return self._fixed
        return _requests(self._make())

    @property
    def first(self) -> str:
        """What the name of the cycle shows: the fixed requests, or the callable."""
        if self._make is not None:
            return getattr(self._make, "__name__", "requests()")
        more = f" +{len(self._fixed) - 1}" if len(self._fixed) > 1 else ""
        return f"{self._fixed[0]!r}{more}"


def _requests(values: Iterable[RequestLike]) -> tuple[Request, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise LeakHarnessError(f"requests must be an iterable of requests (got {values!r})")
    made = tuple(Request.of(value) for value in values)
    if not made:
        raise LeakHarnessError("requests must hold at least one request (got none)")
    return made


def check_response(
    request: Request, status: int, text: Callable[[], str], response: Any, expect: Expect | None
) -> None:
    """Raise ResponseError for a status of 500 or more, or when ``expect`` says no."""
    if status >= 500:
        raise ResponseError(f"{request!r} answered {status}: {_excerpt(text())}")
    if expect is not None and not expect(response):
        raise ResponseError(f"{request!r} answered {status}, which expect() refused: {_excerpt(text())}")


def check_concurrency(concurrency: object) -> int:
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise LeakHarnessError(f"concurrency must be an integer >= 1 (got {concurrency!r})")
    return concurrency


def check_expect(expect: object) -> Expect | None:
    if expect is not None and not callable(expect):
        raise LeakHarnessError(f"expect must be a callable taking the response (got {expect!r})")
    return expect


def require(module: str, cycle: str) -> ModuleType:
    """Import ``module`` of the web extra, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise LeakHarnessError(f"{cycle} needs {module.split('.')[0]}: {WEB_EXTRA}") from err


def app_name(app: object, source: RequestSource, kind: str) -> str:
    """``wsgi_cycle(shop: GET /items +2)``: the report's name for a cycle."""
    name = getattr(app, "__qualname__", None) or getattr(app, "name", None) or type(app).__name__
    return f"{kind}({name}: {source.first})"


def _header_pairs(headers: object) -> tuple[tuple[str, str], ...]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    if not isinstance(items, Iterable) or isinstance(items, (str, bytes)):
        raise LeakHarnessError(f"request headers must be a mapping or (name, value) pairs (got {headers!r})")
    pairs = tuple(items)
    if not all(isinstance(p, tuple) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in pairs):
        raise LeakHarnessError(f"request headers must be pairs of strings (got {headers!r})")
    return pairs


def _excerpt(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def join_all(targets: list[Callable[[], None]], name: str, errors: list[BaseException]) -> None:
    """Run each of ``targets`` in a thread of its own, join them all, and raise
    the first error they put in ``errors``."""
    threads = [
        threading.Thread(target=target, name=f"{name}-{i}", daemon=True) for i, target in enumerate(targets)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
