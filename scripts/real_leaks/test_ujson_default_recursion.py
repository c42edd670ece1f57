"""ujson 5.13.0 leaks what ``default()`` returned while it keeps returning unserialisable objects.

``property`` stands for a default handler that wraps what it gets in another
unserialisable object: ujson calls it again on each result until its
recursion limit, and 5.13.0 never releases the intermediate results. (A
builtin, so that each new object is made by the ``dumps`` call itself.)
"""

import unittest

import ujson


class UjsonDefaultTest(unittest.TestCase):
    def test_default_never_serialisable(self) -> None:
        with self.assertRaises((OverflowError, RecursionError, TypeError)):
            ujson.dumps({"item": object()}, default=property)  # LEAK


if __name__ == "__main__":
    unittest.main()
