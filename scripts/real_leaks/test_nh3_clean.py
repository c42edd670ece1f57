"""nh3 0.2.18 (Rust, PyO3) leaks every string ``nh3.clean()`` returns."""

import unittest

import nh3

HTML = "<p class='note' onclick='steal()'>Hello <b>world</b><script>alert(1)</script></p>" * 40


class Nh3CleanTest(unittest.TestCase):
    def test_clean_comment(self) -> None:
        safe = nh3.clean(HTML)  # LEAK
        self.assertNotIn("<script>", safe)


if __name__ == "__main__":
    unittest.main()
