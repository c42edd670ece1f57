"""Numbers for people: ``+1.5 KiB``, ``-512 B``, ``+2 fds``; and what counts as a number."""

from __future__ import annotations

import math


def is_real(value: object) -> bool:
    """An int or float that is not a bool and not NaN (infinities pass: callers bound them)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def signed_size(amount: float) -> str:
    """Bytes with a sign and a binary unit: ``+1.5 KiB``, ``-512 B``, ``0 B``."""
    sign = "+" if amount > 0 else "-" if amount < 0 else ""
    size, unit = abs(amount), "B"
    for bigger in ("KiB", "MiB", "GiB"):
        if size < 1024:
            break
        size, unit = size / 1024, bigger
    text = f"{size:.0f}" if unit == "B" or size >= 100 else f"{size:.1f}"
    return f"{sign}{text} {unit}"


def signed_amount(amount: float, unit: str) -> str:
    """``amount`` of ``unit`` with a sign; bytes go through ``signed_size``."""
    if unit == "bytes":
        return signed_size(amount)
    text = "0" if amount == 0 else f"{amount:+.0f}" if float(amount).is_integer() else f"{amount:+.3g}"
    return f"{text} {unit}" if unit else text
