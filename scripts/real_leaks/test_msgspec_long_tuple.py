"""msgspec 0.14.1 leaks every tuple of more than 16 items it decodes into a Struct field."""

import unittest

import msgspec


class Reading(msgspec.Struct):
    samples: tuple[int, ...]


DECODER = msgspec.msgpack.Decoder(type=Reading)
PAYLOAD = msgspec.msgpack.encode(Reading(samples=tuple(range(17))))


class MsgspecTupleTest(unittest.TestCase):
    def test_decode_long_tuple(self) -> None:
        reading = DECODER.decode(PAYLOAD)  # LEAK
        self.assertEqual(len(reading.samples), 17)


if __name__ == "__main__":
    unittest.main()
