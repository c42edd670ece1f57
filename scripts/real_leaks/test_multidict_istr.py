"""multidict 6.3.2 leaks a reference to every key it turns into an istr.

Iterating a CIMultiDict's items makes an istr from each stored key and keeps
an extra reference to the key string, so the strings decoded from the wire
never die. Parsing and listing happen on the user's one line.
"""

import unittest

from multidict import CIMultiDict

RAW = [(f"X-Header-{i}".encode(), str(i).encode()) for i in range(10)]


class MultidictIstrTest(unittest.TestCase):
    def test_parse_raw_headers(self) -> None:
        items = list(CIMultiDict((k.decode(), v.decode()) for k, v in RAW).items())  # LEAK
        self.assertEqual(len(items), 10)


if __name__ == "__main__":
    unittest.main()
