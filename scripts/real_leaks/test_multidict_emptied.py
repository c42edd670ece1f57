"""multidict 6.6.3 never frees the storage of a CIMultiDict whose items are all deleted.

The storage is allocated by the constructor, on the user's line; deleting
every item (here: consuming each header once handled) loses it.
"""

import unittest

from multidict import CIMultiDict

RAW = [(f"X-Trace-{i}", str(i)) for i in range(16)]


class MultidictEmptiedTest(unittest.TestCase):
    def test_consume_every_header(self) -> None:
        pending = CIMultiDict(RAW)  # LEAK
        for name, _ in RAW:
            del pending[name]
        self.assertFalse(pending)


if __name__ == "__main__":
    unittest.main()
