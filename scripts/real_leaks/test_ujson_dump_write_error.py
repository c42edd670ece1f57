"""ujson 5.12.0 leaks the whole encoded document when ``ujson.dump()`` cannot write it."""

import unittest

import ujson

DOCUMENT = {"payload": "x" * 4000}


class FullDisk:
    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")


class UjsonDumpTest(unittest.TestCase):
    def test_dump_to_failing_file(self) -> None:
        with self.assertRaises(OSError):
            ujson.dump(DOCUMENT, FullDisk())  # LEAK


if __name__ == "__main__":
    unittest.main()
