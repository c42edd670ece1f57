"""more-executors 1.18.0 leaks the threads of a TimeoutExecutor that is never shut down.

The executor's timeout thread keeps the executor (and its pool's worker
thread) alive after the last reference to it is gone.
"""

import unittest

from more_executors import Executors


class TimeoutExecutorTest(unittest.TestCase):
    def test_one_call_with_timeout(self) -> None:
        total = Executors.thread_pool(max_workers=1).with_timeout(30.0).submit(sum, [1, 2]).result()  # LEAK
        self.assertEqual(total, 3)


if __name__ == "__main__":
    unittest.main()
