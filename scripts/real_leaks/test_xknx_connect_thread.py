"""xknx 2.12.1 leaks its connection thread when the first connection attempt fails.

With ``threaded=True`` the interface runs its own event loop in a thread; if
the gateway cannot be reached, 2.12.1 raises without stopping that thread
(and its loop's descriptors stay open). The gateway here is a port on
127.0.0.1 that nobody listens on, so the attempt fails at once.
"""

import asyncio
import socket
import unittest

from xknx import XKNX
from xknx.exceptions import CommunicationError
from xknx.io import ConnectionConfig, ConnectionType


async def connect(port: int) -> None:
    config = ConnectionConfig(
        connection_type=ConnectionType.TUNNELING_TCP, gateway_ip="127.0.0.1", gateway_port=port, threaded=True
    )
    await XKNX(connection_config=config).start()  # LEAK


class XknxConnectTest(unittest.TestCase):
    def setUp(self) -> None:
        self.unused = socket.socket()  # bound, never listening: connections are refused
        self.unused.bind(("127.0.0.1", 0))

    def tearDown(self) -> None:
        self.unused.close()

    def test_gateway_unreachable(self) -> None:
        with self.assertRaises(CommunicationError):
            asyncio.run(connect(self.unused.getsockname()[1]))


if __name__ == "__main__":
    unittest.main()
