"""libbpf's messages, captured instead of printed, for the oracles that need its reasons.

``libbpf_set_print`` takes a C callback that receives a ``printf`` format and a
``va_list``; the callback here formats them with libc's ``vsnprintf`` and keeps the
text, so an oracle can report why libbpf refused an input.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

from tests.oracle.libbpf import OracleUnavailable

_VP = ctypes.c_void_p
#: ``int (*libbpf_print_fn_t)(enum libbpf_print_level, const char *, va_list)``; on
#: x86-64 a ``va_list`` argument is passed as a pointer.
_PRINT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
_LOG_BUF = 4096
#: enum libbpf_print_level: LIBBPF_WARN, LIBBPF_INFO, LIBBPF_DEBUG
LIBBPF_WARN = 0


class LibbpfLog:
    """The messages of one libbpf library, from :meth:`start` to :meth:`stop`.

    ``max_level`` keeps messages at that level or more severe (``LIBBPF_WARN``:
    warnings only); ``None`` keeps every message."""

    def __init__(self, max_level: int | None = None) -> None:
        libc_name = ctypes.util.find_library("c")
        if libc_name is None:
            raise OracleUnavailable("libc not found (needed to format libbpf's log)")
        self._libc = ctypes.CDLL(libc_name)
        self._libc.vsnprintf.restype = ctypes.c_int
        self._libc.vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, _VP]
        self.max_level = max_level
        self.lines: list[str] = []
        self._callback = _PRINT_FN(self._print)  # kept alive as long as the log

    def _print(self, level: int, fmt: bytes | None, args: int | None) -> int:
        if fmt is None or (self.max_level is not None and level > self.max_level):
            return 0
        buf = ctypes.create_string_buffer(_LOG_BUF)
        self._libc.vsnprintf(buf, _LOG_BUF, fmt, args)
        self.lines.append(buf.value.decode("utf-8", "replace"))
        return 0

    def start(self, c: Any) -> None:
        """Capture the messages of library ``c`` (a ``ctypes.CDLL``) from now on, afresh."""
        self.lines = []
        c.libbpf_set_print(ctypes.cast(self._callback, _VP))

    @staticmethod
    def stop(c: Any) -> None:
        """Stop capturing: libbpf prints nothing at all afterwards."""
        c.libbpf_set_print(None)

    @property
    def text(self) -> str:
        return "".join(self.lines)
