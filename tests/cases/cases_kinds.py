"""One leak and one clean twin per resource kind, hunted through the CLI."""

from __future__ import annotations

import ctypes
import socket
import threading
import unittest

_PATH = __file__  # a file to open that is always there: no temporary folder left behind

_KEPT: list[object] = []
_STOP = threading.Event()
_LIBC = ctypes.CDLL(None)
_LIBC.malloc.restype = ctypes.c_void_p
_LIBC.malloc.argtypes = [ctypes.c_size_t]
_LIBC.free.argtypes = [ctypes.c_void_p]
NATIVE_BYTES = 256 * 1024


class Kinds(unittest.TestCase):
    def test_leak_heap(self) -> None:
        _KEPT.append(bytearray(512))  # LEAK

    def test_clean_heap(self) -> None:
        scratch = [bytearray(512) for _ in range(10)]
        self.assertEqual(len(scratch), 10)

    def test_leak_file(self) -> None:
        _KEPT.append(open(_PATH))  # LEAK

    def test_clean_file(self) -> None:
        with open(_PATH, "rb") as handle:
            handle.read()

    def test_leak_socket(self) -> None:
        _KEPT.append(socket.socketpair())  # LEAK

    def test_leak_thread(self) -> None:
        worker = threading.Thread(target=_STOP.wait, daemon=True)  # LEAK
        worker.start()

    def test_clean_thread(self) -> None:
        worker = threading.Thread(target=sum, args=([1, 2],))
        worker.start()
        worker.join()

    def test_leak_native(self) -> None:
        address = _LIBC.malloc(NATIVE_BYTES)  # LEAK
        ctypes.memset(address, 1, NATIVE_BYTES)

    def test_clean_native(self) -> None:
        address = _LIBC.malloc(NATIVE_BYTES)
        ctypes.memset(address, 1, NATIVE_BYTES)
        _LIBC.free(address)
