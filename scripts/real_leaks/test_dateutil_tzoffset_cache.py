"""python-dateutil 2.7.5 keeps every ``tzoffset`` it ever made in a strong, unbounded cache."""

import datetime
import itertools
import unittest

from dateutil import tz

_serial = itertools.count()


class DateutilOffsetTest(unittest.TestCase):
    def test_one_off_offset(self) -> None:
        n = next(_serial)
        zone = tz.tzoffset(f"station-{n}", (n % 720) * 60)  # LEAK
        self.assertEqual(zone.utcoffset(datetime.datetime(2024, 1, 1)).seconds, (n % 720) * 60)


if __name__ == "__main__":
    unittest.main()
