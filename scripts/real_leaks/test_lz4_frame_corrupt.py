"""lz4 4.0.1 leaks the output buffer when ``lz4.frame.decompress()`` fails on corrupt input."""

import unittest

import lz4.frame

GOOD = lz4.frame.compress(b"sensor frame " * 8000)
CORRUPT = GOOD[:-24] + bytes(24)


class Lz4CorruptFrameTest(unittest.TestCase):
    def test_decompress_corrupt_frame(self) -> None:
        with self.assertRaises(RuntimeError):
            lz4.frame.decompress(CORRUPT)  # LEAK


if __name__ == "__main__":
    unittest.main()
