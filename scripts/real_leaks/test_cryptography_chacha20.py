"""cryptography 41.0.2 leaks native (OpenSSL) memory for each ChaCha20Poly1305 cipher it makes."""

import os
import unittest

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

KEY = ChaCha20Poly1305.generate_key()
NONCE = os.urandom(12)
MESSAGE = b"temperature=21.5;" * 64


class ChaCha20Poly1305Test(unittest.TestCase):
    def test_seal_one_message(self) -> None:
        sealed = ChaCha20Poly1305(KEY).encrypt(NONCE, MESSAGE, b"header")  # LEAK
        self.assertEqual(len(sealed), len(MESSAGE) + 16)


if __name__ == "__main__":
    unittest.main()
