"""sh 1.12.2 leaks a pipe descriptor on every command it runs."""

import unittest

import sh


class ShCommandTest(unittest.TestCase):
    def test_run_command(self) -> None:
        result = sh.echo("ready")  # LEAK
        self.assertEqual(str(result).strip(), "ready")


if __name__ == "__main__":
    unittest.main()
