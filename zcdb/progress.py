"""A small progress bar with ETA for long jobs (proxy computation, benchmark training)."""

from __future__ import annotations

import sys
import time
from typing import IO, Optional


def _fmt(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Progress:
    """Counts finished items and prints ``label  done/total  rate  elapsed<eta`` to a stream.

    On a terminal the line is redrawn in place; otherwise a line is printed at most every
    ``every`` seconds (log files stay short). ``enabled=False`` prints nothing.
    """

    def __init__(self, total: int, label: str = "", stream: Optional[IO[str]] = None,
                 enabled: bool = True, every: float = 10.0) -> None:
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and total > 0
        self.every = every
        self.done = 0
        self.start = time.perf_counter()
        self._last = 0.0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, n: int = 1) -> None:
        """Record ``n`` more finished items."""
        self.done += n
        now = time.perf_counter()
        if self.enabled and (self._tty and now - self._last > 0.2 or now - self._last > self.every
                             or self.done >= self.total):
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = now - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        frac = self.done / self.total
        bar = "#" * int(frac * 20)
        text = (f"{self.label} [{bar:<20}] {self.done}/{self.total} {rate:.2f}/s "
                f"{_fmt(elapsed)}<{_fmt(eta) if eta == eta else '?'}")
        if self._tty:
            self.stream.write("\r" + text + ("\n" if self.done >= self.total else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Finish the line."""
        if self.enabled and self._tty and self.done < self.total:
            self.stream.write("\n")
            self.stream.flush()
