"""An HTTP client that never closes its aiohttp session.

``fetch_status_leaky()`` makes an ``aiohttp.ClientSession`` for one request
and returns without closing it. Nothing stays referenced, so the garbage
collector reclaims the session and its connector, and closes them: memory
and descriptor counts stay flat. What remains is the ResourceWarning
("Unclosed client session") each cycle, and in a service that collects less
often, its connections pile up until a collection comes. ``fetch_status()``
uses the session as an ``async with`` block, which closes it.

The tests run against a local HTTP server on 127.0.0.1 that the module
starts in a child process before its tests and stops after them.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import unittest

import aiohttp

_server: subprocess.Popen[str] | None = None
_folder = tempfile.TemporaryDirectory(prefix="leakharness-http-")
URL = ""


def setUpModule() -> None:
    global _server, URL
    command = [
        sys.executable,
        "-u",
        "-m",
        "http.server",
        "0",
        "--bind",
        "127.0.0.1",
        "--directory",
        _folder.name,
    ]
    _server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert _server.stdout is not None
    banner = _server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
    URL = f"http://127.0.0.1:{banner.split(' port ')[1].split()[0]}/"


def tearDownModule() -> None:
    if _server is not None:
        _server.terminate()
        _server.wait()
        if _server.stdout is not None:
            _server.stdout.close()
    _folder.cleanup()


async def fetch_status_leaky(url: str) -> int:
    session = aiohttp.ClientSession()  # leak: never closed
    async with session.get(url) as response:
        await response.read()
        return response.status


async def fetch_status(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        await response.read()
        return response.status


class HttpClientTest(unittest.IsolatedAsyncioTestCase):
    async def test_leaky_session_never_closed(self) -> None:
        self.assertEqual(await fetch_status_leaky(URL), 200)

    async def test_fixed_session_closed(self) -> None:
        self.assertEqual(await fetch_status(URL), 200)


if __name__ == "__main__":
    unittest.main()
