"""``python -m leakharness``."""

from leakharness.integrations.cli import entry_point

if __name__ == "__main__":
    entry_point()
