"""ctypes oracle over the system libbpf's object open: the BTF ``bpf_object__open_file``
leaves in the object.

:meth:`BpfObjectOracle.opened_btf` runs ``bpf_object__open_file(path, NULL)``,
``bpf_object__btf`` and ``btf__raw_data`` on libbpf 1.1.2 (Debian 12's
``libbpf.so.1``, found as :meth:`tests.oracle.libbpf.Libbpf.system` finds it) and
closes the object with ``bpf_object__close``.  libbpf's messages are captured
instead of printed (``libbpf_set_print`` with a callback that formats them with
libc's ``vsnprintf``), so a refusal is an :class:`OpenRefused` carrying libbpf's
errno and its log, which a test can show as the reason.

An object libbpf opens without BTF (no ``.BTF`` and nothing needing it) has no
BTF to compare: that is reported as a refusal with ``ENODATA``.

``BTFDEDUP_NO_ORACLES=1`` hides this oracle as it hides the others.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os

from tests.oracle.api import ApiOracle, Refused
from tests.oracle.libbpf import Libbpf, OracleUnavailable
from tests.oracle.log import LibbpfLog

_VP = ctypes.c_void_p


class OpenRefused(Refused):
    """libbpf refused to open the object (or opened it without BTF); ``log`` is what it printed."""


class BpfObjectOracle(ApiOracle):
    """``bpf_object__open_file`` of one libbpf build, with libbpf's log captured."""

    def __init__(self, lib: Libbpf) -> None:
        super().__init__(lib)
        c = lib._c
        try:
            c.bpf_object__open_file.restype = _VP
            c.bpf_object__open_file.argtypes = [ctypes.c_char_p, _VP]
            c.bpf_object__btf.restype = _VP
            c.bpf_object__btf.argtypes = [_VP]
            c.bpf_object__close.restype = None
            c.bpf_object__close.argtypes = [_VP]
        except AttributeError as e:
            raise OracleUnavailable(f"{lib.path} lacks the bpf_object API: {e}") from None
        self._logger = LibbpfLog(None)

    def opened_btf(self, path: str | os.PathLike[str]) -> bytes:
        """Raw bytes of the opened object's BTF; :class:`OpenRefused` when libbpf refuses."""
        c = self.lib._c
        with self._lock:
            self._logger.start(c)
            try:
                ctypes.set_errno(0)
                obj = c.bpf_object__open_file(os.fsencode(path), None)
                err = ctypes.get_errno()
                log = self._logger.text
                if not obj:
                    raise OpenRefused("bpf_object__open_file", err or errno.EINVAL, log)
                try:
                    btf = c.bpf_object__btf(_VP(obj))
                    if not btf:
                        raise OpenRefused("bpf_object__btf (opened without BTF)", errno.ENODATA, log)
                    size = ctypes.c_uint32(0)
                    ptr = c.btf__raw_data(_VP(btf), ctypes.byref(size))
                    if not ptr:
                        raise OpenRefused("btf__raw_data", ctypes.get_errno() or errno.ENOMEM, log)
                    return ctypes.string_at(ptr, size.value)
                finally:
                    c.bpf_object__close(_VP(obj))
            finally:
                self._logger.stop(c)
