"""Headless Chromium driven over its DevTools protocol, for tests of the HTML report.

The standard library has no WebSocket client, so this is a minimal one: the
opening handshake, masked text frames out, text frames (possibly fragmented)
in. It serves one page target on 127.0.0.1 and nothing else. Every socket
read has a timeout and the browser is killed on close, so a test never hangs.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

TIMEOUT = 20.0  # seconds for the browser to start, and for any one answer
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


def find_chromium() -> str | None:
    """The browser's executable, on POSIX systems (the process group is stopped as one)."""
    if os.name != "posix":
        return None
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class DevToolsError(Exception):
    pass


class Browser:
    """A headless Chromium with one page, and calls of the protocol on it."""

    def __init__(self, executable: str) -> None:
        self._profile = tempfile.TemporaryDirectory(
            prefix="leakharness-chromium-", ignore_cleanup_errors=True
        )
        profile, scratch = Path(self._profile.name) / "profile", Path(self._profile.name) / "tmp"
        scratch.mkdir()  # its singleton socket and other temporary files go here, and go with it
        self._process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "TMPDIR": str(scratch)},
            start_new_session=True,  # its own process group: the renderer and helpers go with it
        )
        self._socket: socket.socket | None = None
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        try:
            port = self._port(profile / "DevToolsActivePort")
            self._socket = _connect(_page_url(port))
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the browser and its helper processes, then remove its profile."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, TIMEOUT)):
            try:
                os.killpg(self._process.pid, sig)
            except ProcessLookupError:
                break  # the whole group is gone
            try:
                self._process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            time.sleep(0.1)  # helpers of the group that outlive the main process a moment
        self._process.wait(timeout=TIMEOUT)
        shutil.rmtree(self._profile.name, ignore_errors=True)
        self._profile.cleanup()

    def _port(self, active: Path) -> int:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise DevToolsError(f"chromium exited with status {self._process.returncode}")
            lines = active.read_text().split("\n") if active.exists() else []
            if len(lines) >= 2 and lines[0].isdigit():
                return int(lines[0])
            time.sleep(0.05)
        raise DevToolsError(f"chromium wrote no {active.name} within {TIMEOUT:g} s")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; events that come first are kept in ``events``."""
        if self._socket is None:
            raise DevToolsError("the browser is closed")
        self._next_id += 1
        _send(self._socket, json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(_receive(self._socket))
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise DevToolsError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited if a promise)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise DevToolsError(f"{expression[:60]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, width: int = 1280, height: int = 900, scripts: bool = True) -> None:
        """Load ``url`` in a window ``width`` CSS pixels wide (with the page's
        scripts off unless ``scripts``), and wait until it has loaded."""
        self.call("Emulation.setScriptExecutionDisabled", value=not scripts)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.call("Page.enable")
        self.call("Network.enable")
        self.events.clear()
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + TIMEOUT
        while self.evaluate("document.readyState") != "complete":
            if time.monotonic() > deadline:
                raise DevToolsError(f"{url} did not load within {TIMEOUT:g} s")
            time.sleep(0.05)

    def requested(self) -> list[str]:
        """URLs the page asked for since it was opened."""
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def screenshot(self, path: Path) -> None:
        """A PNG of the whole page."""
        height = self.evaluate("document.documentElement.scrollHeight")
        width = self.evaluate("document.documentElement.clientWidth")
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip)
        path.write_bytes(base64.b64decode(shot["data"]))


def _page_url(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=TIMEOUT) as answer:
        targets = json.load(answer)
    pages = [t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page"]
    if not pages:
        raise DevToolsError("chromium has no page to drive")
    return str(pages[0])


def _connect(url: str) -> socket.socket:
    """A WebSocket to ``ws://127.0.0.1:PORT/PATH``, past the opening handshake."""
    address, _, path = url.removeprefix("ws://").partition("/")
    host, _, port = address.partition(":")
    sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    sock.sendall(
        (
            f"GET /{path} HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode("ascii")
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            raise DevToolsError("the DevTools socket closed during the handshake")
        answer += chunk
    if not answer.startswith(b"HTTP/1.1 101"):
        sock.close()
        raise DevToolsError(f"no WebSocket upgrade: {answer.splitlines()[0]!r}")
    return sock


def _send(sock: socket.socket, text: str) -> None:
    payload = text.encode("utf-8")
    size = len(payload)
    head = bytes([0x81])  # FIN, text frame
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    mask = os.urandom(4)  # a client masks every frame
    sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def _receive(sock: socket.socket) -> str:
    """One whole message; fragments joined, pings and other control frames skipped."""
    parts: list[bytes] = []
    while True:
        first, second = _exactly(sock, 2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", _exactly(sock, 2))
        elif size == 127:
            (size,) = struct.unpack("!Q", _exactly(sock, 8))
        mask = _exactly(sock, 4) if second & 0x80 else b""
        payload = _exactly(sock, size)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        opcode = first & 0x0F
        if opcode == 0x8:
            raise DevToolsError("the browser closed the DevTools socket")
        if opcode in (0x0, 0x1):
            parts.append(payload)
            if first & 0x80:
                return b"".join(parts).decode("utf-8")


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(min(size - len(data), 1 << 20))
        if not chunk:
            raise DevToolsError("the DevTools socket closed")
        data += chunk
    return bytes(data)
