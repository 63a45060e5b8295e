"""ctypes oracle over the system libbpf's static linker (what ``bpftool gen object`` runs).

:meth:`LinkerOracle.link` runs ``bpf_linker__new(out, NULL)``, ``bpf_linker__add_file``
for every input in order, ``bpf_linker__finalize`` and ``bpf_linker__free`` on libbpf
1.1.2 (Debian 12's ``libbpf.so.1``, found as :meth:`tests.oracle.libbpf.Libbpf.system`
finds it), then reads the ``.BTF`` and ``.BTF.ext`` sections of the linked ELF object
with :func:`btfdedup.bpfobj.elf_object.read_bpf_object`.

libbpf's messages are captured instead of printed (``libbpf_set_print`` with a
callback that formats them with libc's ``vsnprintf``), so a refusal is a
:class:`LinkRefused` carrying the failing call, the input it was adding, libbpf's
errno and its log; :meth:`LinkRefused.reason` is the last warning libbpf printed,
the one line a test compares with our refusal.

A link of inputs without any BTF type writes no ``.BTF``: that is reported as a
refusal with ``ENODATA`` (there is no BTF to compare).

Do not give it a file that is not ELF: libbpf 1.1.2's linker then crashes the
process (SIGSEGV, seen with a text file), so such inputs are judged by our side only.

``BTFDEDUP_NO_ORACLES=1`` hides this oracle as it hides the others.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import tempfile
from collections.abc import Sequence

from btfdedup.bpfobj.elf_object import read_bpf_object
from tests.oracle.api import ApiOracle, Refused
from tests.oracle.libbpf import Libbpf, OracleUnavailable
from tests.oracle.log import LIBBPF_WARN, LibbpfLog

_VP = ctypes.c_void_p


class LinkRefused(Refused):
    """The linker refused the inputs; ``path`` is the input being added (None at
    ``bpf_linker__new`` / ``finalize``), ``log`` the warnings libbpf printed."""

    def __init__(self, op: str, err: int, log: str, path: str | None) -> None:
        super().__init__(op, err, log)
        self.path = path


class LinkerOracle(ApiOracle):
    """``bpf_linker`` of one libbpf build, with libbpf's warnings captured."""

    def __init__(self, lib: Libbpf) -> None:
        super().__init__(lib)
        c = lib._c
        try:
            c.bpf_linker__new.restype = _VP
            c.bpf_linker__new.argtypes = [ctypes.c_char_p, _VP]
            c.bpf_linker__add_file.restype = ctypes.c_int
            c.bpf_linker__add_file.argtypes = [_VP, ctypes.c_char_p, _VP]
            c.bpf_linker__finalize.restype = ctypes.c_int
            c.bpf_linker__finalize.argtypes = [_VP]
            c.bpf_linker__free.restype = None
            c.bpf_linker__free.argtypes = [_VP]
        except AttributeError as e:
            raise OracleUnavailable(f"{lib.path} lacks the bpf_linker API: {e}") from None
        self._logger = LibbpfLog(LIBBPF_WARN)

    def link(self, paths: Sequence[str | os.PathLike[str]]) -> tuple[bytes, bytes | None]:
        """``(.BTF bytes, .BTF.ext bytes or None)`` of the linked object;
        :class:`LinkRefused` when libbpf refuses."""
        c = self.lib._c
        with self._lock, tempfile.TemporaryDirectory(prefix="btfdedup-link-") as tmp:
            out = os.path.join(tmp, "linked.o")
            self._logger.start(c)
            try:
                ctypes.set_errno(0)
                linker = c.bpf_linker__new(os.fsencode(out), None)
                if not linker:
                    raise LinkRefused("bpf_linker__new", ctypes.get_errno() or errno.EINVAL, self._logger.text, None)
                try:
                    for p in paths:
                        rc = c.bpf_linker__add_file(_VP(linker), os.fsencode(p), None)
                        if rc < 0:
                            raise LinkRefused("bpf_linker__add_file", -rc, self._logger.text, os.fspath(p))
                    rc = c.bpf_linker__finalize(_VP(linker))
                    if rc < 0:
                        raise LinkRefused("bpf_linker__finalize", -rc, self._logger.text, None)
                finally:
                    c.bpf_linker__free(_VP(linker))
            finally:
                self._logger.stop(c)
            with open(out, "rb") as f:
                obj = read_bpf_object(f.read(), out)
        btf = obj.btf_data
        if btf is None:
            raise LinkRefused("bpf_linker__finalize (no .BTF written)", errno.ENODATA, "", None)
        return btf, obj.btf_ext_data


__all__ = ["LinkRefused", "LinkerOracle"]
