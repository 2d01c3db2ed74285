"""Small helpers for the benchmark figures."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def replace_block(path: Path, start: str, end: str, lines: Sequence[str]) -> None:
    """Put `lines` between the `start` and `end` markers in the file (appended when absent)."""
    block = "\n".join([start, *lines, end])
    text = path.read_text()
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text += "\n" + block + "\n"
    path.write_text(text)
