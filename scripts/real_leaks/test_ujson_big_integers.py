"""ujson 5.11.0 leaks native memory for every integer outside the 64-bit range it parses."""

import unittest

import ujson

BIG = 123456789012345678901234567890
TEXT = "[" + ",".join([str(BIG)] * 10) + "]"


class UjsonBigIntegerTest(unittest.TestCase):
    def test_parse_big_integers(self) -> None:
        numbers = ujson.loads(TEXT)  # LEAK
        self.assertEqual(numbers[0], BIG)


if __name__ == "__main__":
    unittest.main()
