"""orjson 3.9.0 leaks the chained traceback of an exception raised in ``default``."""

import unittest

import orjson


def refuse(obj: object) -> object:
    raise TypeError(f"cannot serialise {type(obj).__name__}")


class OrjsonDefaultTest(unittest.TestCase):
    def test_default_raises(self) -> None:
        with self.assertRaises(orjson.JSONEncodeError):
            orjson.dumps({"when": object()}, default=refuse)  # LEAK


if __name__ == "__main__":
    unittest.main()
