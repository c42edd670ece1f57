"""The load of one round: N requests to one URL, or the user's own command.

The built-in driver sends only to the address of the URL it is given, from
``concurrency`` threads each holding one keep-alive connection; the threads
are joined at the end of every round.
"""

from __future__ import annotations

import http.client
import subprocess
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

from leakharness.errors import LeakHarnessError
from leakharness.integrations.web_requests import join_all

REQUEST_SECONDS = 30.0  # a request that takes longer fails the round


class LoadError(LeakHarnessError):
    """A round could not be sent: a refused connection, a server error, a failed command."""


@dataclass(frozen=True)
class Address:
    """Where the server listens, from a URL: ``http://127.0.0.1:8000/path?q``."""

    scheme: str
    host: str
    port: int
    target: str  # path and query

    @classmethod
    def parse(cls, url: str) -> Address:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LeakHarnessError(f"--url must look like http://HOST:PORT/PATH (got {url!r})")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise LeakHarnessError(f"--url has a bad port (got {url!r})") from None
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.scheme, parts.hostname, port, target)

    def connect(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        return kind(self.host, self.port, timeout=REQUEST_SECONDS)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.target}"


class HttpLoad:
    """A round of ``requests`` requests of ``method`` to ``address``, ``concurrency`` at a time."""

    def __init__(
        self, address: Address, method: str = "GET", requests: int = 100, concurrency: int = 1
    ) -> None:
        if not method.isalpha():
            raise LeakHarnessError(f"--method must be a word such as GET (got {method!r})")
        for name, value in (("--requests", requests), ("--concurrency", concurrency)):
            if value < 1:
                raise LeakHarnessError(f"{name} must be >= 1 (got {value})")
        self.address = address
        self.method = method.upper()
        self.requests = requests
        self.concurrency = min(concurrency, requests)

    def describe(self) -> str:
        return f"{self.requests} {self.method} requests to {self.address}, {self.concurrency} at a time"

    def __call__(self) -> None:
        shares = [
            self.requests // self.concurrency + (i < self.requests % self.concurrency)
            for i in range(self.concurrency)
        ]
        errors: list[BaseException] = []
        join_all([partial(self._send, n, errors) for n in shares], "leakharness-load", errors)

    def _send(self, count: int, errors: list[BaseException]) -> None:
        connection = self.address.connect()
        try:
            for _ in range(count):
                if errors:
                    return
                connection.request(self.method, self.address.target)
                response = connection.getresponse()
                body = response.read()
                if response.status >= 500:
                    text = " ".join(body.decode("utf-8", "replace").split())[:200]
                    raise LoadError(f"{self.method} {self.address} answered {response.status}: {text}")
        except LoadError as err:
            errors.append(err)
        except (OSError, http.client.HTTPException) as err:
            errors.append(LoadError(f"{self.method} {self.address}: {type(err).__name__}: {err}"))
        finally:
            connection.close()


class CommandLoad:
    """A round is one run of the user's command, which must exit 0."""

    def __init__(self, command: list[str]) -> None:
        if not command:
            raise LeakHarnessError("give a load: --url URL, or -- CMD ... after the options")
        self.command = command

    def describe(self) -> str:
        return f"one run of {subprocess.list2cmdline(self.command)}"

    def __call__(self) -> None:
        try:  # its output is kept from the report, and shown when it fails
            done = subprocess.run(self.command, stdin=subprocess.DEVNULL, capture_output=True, check=False)
        except OSError as err:
            raise LoadError(f"cannot run the load command {self.command[0]!r}: {err}") from err
        if done.returncode != 0:
            said = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()
            raise LoadError(
                f"the load command exited with status {done.returncode}" + (f": {said[-1]}" if said else "")
            )
