"""What the libbpf API oracles beyond ``btf__*`` share (``bpf_object`` open, ``bpf_linker``).

Each binds extra symbols of one libbpf build once (:meth:`ApiOracle.system` caches per class
and library), serialises its calls on one lock (libbpf's print callback is process-wide), and
reports a refusal as a :class:`Refused` carrying what libbpf printed.
"""

from __future__ import annotations

import threading
from typing import ClassVar, TypeVar

from tests.oracle.libbpf import Libbpf, OracleError

_A = TypeVar("_A", bound="ApiOracle")


class Refused(OracleError):
    """libbpf refused the operation ``op`` with ``err``; ``log`` is what it printed meanwhile."""

    def __init__(self, op: str, err: int, log: str) -> None:
        super().__init__(op, err)
        self.log = log

    def reason(self) -> str:
        """The last line libbpf printed (its reason), else the errno text."""
        lines = [ln.strip() for ln in self.log.splitlines() if ln.strip()]
        return lines[-1] if lines else str(self)


class ApiOracle:
    """One libbpf build's extra API; subclasses bind their symbols in ``__init__``."""

    _cache: ClassVar[dict[tuple[type, str], ApiOracle]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, lib: Libbpf) -> None:
        self.lib = lib

    @classmethod
    def system(cls: type[_A]) -> _A:
        """This API of the system libbpf (1.1.2 on Debian 12); raises ``OracleUnavailable``."""
        lib = Libbpf.system()
        with cls._lock:
            hit = cls._cache.get((cls, lib.path))
            if hit is None:
                hit = cls._cache[(cls, lib.path)] = cls(lib)
        assert isinstance(hit, cls)
        return hit

    @property
    def version(self) -> tuple[int, int]:
        return self.lib.version
