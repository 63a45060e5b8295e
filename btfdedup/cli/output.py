"""Terminal output shared by the verbs: a progress line on stderr, byte sizes for
people, the error lines of inputs a ``--keep-going`` run left out."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from btfdedup.workflows.inputs import Failure


class ProgressLine:
    """A single self-overwriting status line on stderr, shown only when stderr is a
    terminal and only once the operation has run for ``delay`` seconds."""

    def __init__(self, stream: TextIO | None = None, delay: float = 1.0, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.start = time.monotonic()
        self.delay = delay
        self.last = 0.0
        self.shown = False

    def update(self, text: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < self.delay or now - self.last < 0.1:
            return
        self.last = now
        self.shown = True
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()

    def done(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def human_bytes(n: int) -> str:
    """``4113171`` -> ``3.9 MiB``."""
    v = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if v < 1024 or unit == "GiB":
            return f"{int(v)} {unit}" if unit == "B" else f"{v:.1f} {unit}"
        v /= 1024
    return f"{n} B"


def report_failures(failures: Iterable[Failure] | None) -> None:
    """One ``btfdedup: error: FILE: rule`` line on stderr per input left out."""
    for failure in failures or ():
        print(f"btfdedup: error: {failure.error}", file=sys.stderr)
